package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Authentication modes (--auth).
const (
	authBearer = "bearer" // the Docker token flow
	authBasic  = "basic"  // Basic credentials on every request
	authNone   = "none"   // no credentials; a managed server runs with --auth=false
)

// pullScope and pushScope are the token scopes a Docker client asks for
// to pull from and push to a repository.
func pullScope(repo string) []string { return []string{"repository:" + repo + ":pull"} }
func pushScope(repo string) []string { return []string{"repository:" + repo + ":pull,push"} }

// authenticator adds credentials to requests. In bearer mode it fetches a
// token per set of scopes from the realm named by the registry's /v2/
// challenge, caches it until shortly before it expires, and fetches a new
// one (for the scopes asked plus the challenge's) when a request using it
// is answered 401.
type authenticator struct {
	mode, user, pass string
	hc               *http.Client

	mu             sync.Mutex
	realm, service string

	slots     sync.Map     // scope key -> *tokenSlot
	fetches   atomic.Int64 // token requests made
	refreshes atomic.Int64 // tokens replaced after a 401
}

type tokenSlot struct {
	mu     sync.Mutex // held while fetching
	scopes []string   // guarded by mu
	cur    atomic.Pointer[bearerToken]
}

type bearerToken struct {
	value   string
	renewAt time.Time
}

func scopeKey(scopes []string) string {
	if len(scopes) == 1 {
		return scopes[0]
	}
	s := slices.Clone(scopes)
	slices.Sort(s)
	return strings.Join(s, " ")
}

// authorize sets req's Authorization header for scopes; it returns the
// bearer token used (nil in the other modes).
func (a *authenticator) authorize(req *http.Request, scopes []string) (*bearerToken, error) {
	switch a.mode {
	case authBasic:
		req.SetBasicAuth(a.user, a.pass)
		return nil, nil
	case authBearer:
	default:
		return nil, nil
	}
	k := scopeKey(scopes)
	v, ok := a.slots.Load(k)
	if !ok {
		v, _ = a.slots.LoadOrStore(k, &tokenSlot{scopes: slices.Clone(scopes)})
	}
	slot := v.(*tokenSlot)
	t := slot.cur.Load()
	if t == nil || time.Now().After(t.renewAt) {
		slot.mu.Lock()
		if t = slot.cur.Load(); t == nil || time.Now().After(t.renewAt) {
			nt, err := a.fetch(req.Context(), slot.scopes)
			if err != nil {
				slot.mu.Unlock()
				return nil, err
			}
			slot.cur.Store(nt)
			t = nt
		}
		slot.mu.Unlock()
	}
	req.Header.Set("Authorization", "Bearer "+t.value)
	return t, nil
}

// renew replaces the token that a request for scopes was refused with,
// asking also for the scope the challenge names. When another request
// already replaced it, the newer token is kept.
func (a *authenticator) renew(ctx context.Context, scopes []string, used *bearerToken, challenge string) error {
	params, ok := parseChallenge(challenge)
	if !ok {
		return fmt.Errorf("401 without a Bearer challenge (WWW-Authenticate %q)", challenge)
	}
	a.setRealm(params["realm"], params["service"])
	v, _ := a.slots.LoadOrStore(scopeKey(scopes), &tokenSlot{scopes: slices.Clone(scopes)})
	slot := v.(*tokenSlot)
	slot.mu.Lock()
	defer slot.mu.Unlock()
	if cur := slot.cur.Load(); cur != nil && cur != used {
		return nil
	}
	for s := range strings.FieldsSeq(params["scope"]) {
		if !slices.Contains(slot.scopes, s) {
			slot.scopes = append(slot.scopes, s)
		}
	}
	t, err := a.fetch(ctx, slot.scopes)
	if err != nil {
		return err
	}
	slot.cur.Store(t)
	a.refreshes.Add(1)
	return nil
}

func (a *authenticator) setRealm(realm, service string) {
	if realm == "" {
		return
	}
	a.mu.Lock()
	a.realm, a.service = realm, service
	a.mu.Unlock()
}

// fetch asks the token endpoint for a token with scopes.
func (a *authenticator) fetch(ctx context.Context, scopes []string) (*bearerToken, error) {
	a.mu.Lock()
	realm, service := a.realm, a.service
	a.mu.Unlock()
	if realm == "" {
		return nil, fmt.Errorf("no token realm: the registry's /v2/ challenge named none")
	}
	u, err := url.Parse(realm)
	if err != nil {
		return nil, fmt.Errorf("token realm %q: %w", realm, err)
	}
	q := u.Query()
	if service != "" {
		q.Set("service", service)
	}
	for _, s := range scopes {
		q.Add("scope", s)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if a.user != "" {
		req.SetBasicAuth(a.user, a.pass)
	}
	start := time.Now()
	a.fetches.Add(1)
	resp, err := a.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("token request: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("token request: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("token request for %q: status %d: %s", scopes, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	var tr struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, fmt.Errorf("token response: %w", err)
	}
	if tr.AccessToken == "" {
		tr.AccessToken = tr.Token
	}
	if tr.AccessToken == "" {
		return nil, fmt.Errorf("token response without a token")
	}
	life := time.Duration(tr.ExpiresIn) * time.Second
	if life <= 0 {
		life = 60 * time.Second // the Docker token spec's default
	}
	return &bearerToken{value: tr.AccessToken, renewAt: start.Add(life * 9 / 10)}, nil
}

// parseChallenge reads a `Bearer k="v",k2="v2"` WWW-Authenticate value.
func parseChallenge(h string) (map[string]string, bool) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return nil, false
	}
	params := map[string]string{}
	for rest != "" {
		rest = strings.TrimLeft(rest, " ,")
		k, after, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		k = strings.ToLower(strings.TrimSpace(k))
		var v strings.Builder
		if strings.HasPrefix(after, `"`) {
			i := 1
			for ; i < len(after) && after[i] != '"'; i++ {
				if after[i] == '\\' && i+1 < len(after) {
					i++
				}
				v.WriteByte(after[i])
			}
			rest = after[min(i+1, len(after)):]
		} else {
			end := strings.IndexByte(after, ',')
			if end < 0 {
				end = len(after)
			}
			v.WriteString(strings.TrimSpace(after[:end]))
			rest = after[end:]
		}
		params[k] = v.String()
	}
	return params, true
}
