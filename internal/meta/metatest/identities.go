package metatest

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/acre-project/acre/internal/meta"
)

// testIDsNeverReused deletes the newest registry, principal and role
// assignment and creates new ones: none may get a deleted one's id (on
// SQLite without AUTOINCREMENT they would), nor a principal its uid.
func testIDsNeverReused(t *testing.T, s meta.Store) {
	ctx := t.Context()
	reg := mkRegistry(t, s, "first")
	tx(t, s, func(q meta.Queries) error { return q.DeleteRegistry(ctx, reg.ID) })
	if again := mkRegistry(t, s, "second"); again.ID == reg.ID {
		t.Fatalf("a new registry got the deleted one's id %d", reg.ID)
	}
	mk := func(name string) (*meta.Principal, *meta.RoleAssignment) {
		p := &meta.Principal{Kind: meta.KindUser, Name: name, Enabled: true, CreatedAt: at(0)}
		a := &meta.RoleAssignment{Role: "Owner", CreatedAt: at(0)}
		tx(t, s, func(q meta.Queries) error {
			if err := q.CreatePrincipal(ctx, p); err != nil {
				return err
			}
			a.PrincipalID = p.ID
			return q.CreateRoleAssignment(ctx, a)
		})
		return p, a
	}
	intern, ia := mk("intern")
	if intern.UID == "" || intern.TokenGen != 0 || intern.GrantGen != 0 {
		t.Fatalf("new principal %+v: want a uid and generations 0", intern)
	}
	tx(t, s, func(q meta.Queries) error { return q.DeletePrincipal(ctx, intern.ID) })
	boss, ba := mk("boss")
	if boss.ID == intern.ID || boss.UID == intern.UID || ba.ID == ia.ID {
		t.Fatalf("reused: principal %d/%d, uid %s/%s, assignment %d/%d", intern.ID, boss.ID, intern.UID, boss.UID, ia.ID, ba.ID)
	}
	_, err := s.Read().PrincipalByUID(ctx, intern.UID)
	wantErr(t, "PrincipalByUID(deleted)", err, meta.ErrNotFound)
	got, err := s.Read().PrincipalByUID(ctx, boss.UID)
	ok(t, "PrincipalByUID", err)
	if got.ID != boss.ID || got.Name != "boss" {
		t.Fatalf("PrincipalByUID = %+v, want %+v", got, boss)
	}
	// Revocations move the generations on, one at a time.
	tx(t, s, func(q meta.Queries) error {
		for _, r := range []meta.Revocation{meta.RevokeAll, meta.RevokeAccess, meta.RevokeAccess} {
			if err := q.RevokeTokens(ctx, boss.ID, r); err != nil {
				return err
			}
		}
		return nil
	})
	got, err = s.Read().GetPrincipal(ctx, boss.ID)
	ok(t, "GetPrincipal", err)
	if got.TokenGen != 1 || got.GrantGen != 2 {
		t.Fatalf("generations %d/%d after revocations, want 1/2", got.TokenGen, got.GrantGen)
	}
	err = s.Tx(ctx, func(q meta.Queries) error { return q.RevokeTokens(ctx, intern.ID, meta.RevokeAll) })
	wantErr(t, "RevokeTokens(deleted)", err, meta.ErrNotFound)
	// A registry's token may share a name with another registry's: all are listed.
	r2 := mkRegistry(t, s, "third")
	tx(t, s, func(q meta.Queries) error {
		return q.CreatePrincipal(ctx, &meta.Principal{Kind: meta.KindToken, Name: "boss", RegistryID: r2.ID, Enabled: true, CreatedAt: at(0)})
	})
	named, err := s.Read().PrincipalsNamed(ctx, "boss")
	ok(t, "PrincipalsNamed", err)
	if len(named) != 2 || named[0].RegistryID != 0 || named[1].RegistryID != r2.ID {
		t.Fatalf("PrincipalsNamed = %+v", named)
	}
}

// testAuditBounded appends entries with oversized client text: the store
// keeps at most meta.MaxStoredText bytes of each, and the extra fields.
func testAuditBounded(t *testing.T, s meta.Store) {
	ctx := t.Context()
	big := strings.Repeat("a\x00\xff", 300<<10)
	e := meta.AuditEntry{At: at(0), RegistryID: 1, Category: "login", Operation: "basic", Identity: big, UserAgent: "é" + big,
		CallerIP: big, Result: "Throttled", PrincipalKind: "user", PrincipalID: "abc", Attempts: 7}
	tx(t, s, func(q meta.Queries) error {
		if err := q.AppendAudit(ctx, &e); err != nil {
			return err
		}
		return q.AppendAuditBatch(ctx, []meta.AuditEntry{e})
	})
	got, err := s.Read().ListAudit(ctx, 1, 0, 10)
	ok(t, "ListAudit", err)
	if len(got) != 2 {
		t.Fatalf("%d entries, want 2", len(got))
	}
	for _, g := range got {
		if len(g.Identity) > meta.MaxStoredText || len(g.UserAgent) > meta.MaxStoredText || len(g.CallerIP) > meta.MaxStoredText ||
			!utf8.ValidString(g.Identity) || strings.ContainsRune(g.Identity, 0) || !strings.HasPrefix(g.UserAgent, "éa") {
			t.Fatalf("stored %d/%d/%d bytes of client text", len(g.Identity), len(g.UserAgent), len(g.CallerIP))
		}
		if g.PrincipalKind != "user" || g.PrincipalID != "abc" || g.Attempts != 7 {
			t.Fatalf("entry %+v lost principal or attempts", g)
		}
	}
}
