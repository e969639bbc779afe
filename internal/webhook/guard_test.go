package webhook

import (
	"errors"
	"net/netip"
	"testing"
)

func TestGuardCheck(t *testing.T) {
	own := []netip.AddrPort{netip.MustParseAddrPort("0.0.0.0:5000"), netip.MustParseAddrPort("127.0.0.1:9090")}
	g, err := NewGuard([]string{"10.9.0.0/16", "127.0.0.1:7000", "hooks.internal:8443", "[::1]:7001", "127.0.0.0/8"},
		func() []netip.AddrPort { return own })
	if err != nil {
		t.Fatal(err)
	}
	g.local = func() []netip.Addr { return []netip.Addr{netip.MustParseAddr("192.0.2.10")} }
	tests := []struct {
		host, addr string
		ok         bool
	}{
		{"example.com", "203.0.113.5:443", true},
		{"10.0.0.1", "10.0.0.1:80", true}, // private ranges are not refused by default
		{"169.254.169.254", "169.254.169.254:80", false},
		{"fe80::1", "[fe80::1%eth0]:80", false},
		{"0.0.0.0", "0.0.0.0:80", false},
		{"::", "[::]:80", false},
		{"224.0.0.1", "224.0.0.1:80", false},
		{"ff02::1", "[ff02::1]:80", false},
		{"255.255.255.255", "255.255.255.255:80", false},
		{"localhost", "[::1]:7000", false},
		{"x", "[::ffff:169.254.169.254]:80", false},
		// allowed by the list
		{"127.0.0.1", "127.0.0.1:7000", true},
		{"localhost", "[::1]:7001", true},
		{"whatever", "127.0.0.2:1234", true},          // 127.0.0.0/8
		{"x", "[::ffff:127.0.0.3]:80", true},          // mapped, still 127.0.0.0/8
		{"hooks.internal", "169.254.1.1:8443", true},  // the operator trusts that name
		{"HOOKS.INTERNAL.", "169.254.1.1:8443", true}, // in any case, fully qualified
		{"hooks.internal", "169.254.1.1:8444", false}, // not on another port
		{"other.internal", "169.254.1.1:8443", false}, // not another name
		{"10.9.1.1", "10.9.1.1:22", true},
		// acre's own listeners: refused even where a CIDR covers them
		{"127.0.0.1", "127.0.0.1:5000", false}, // 0.0.0.0:5000 owns loopback
		{"192.0.2.10", "192.0.2.10:5000", false},
		{"192.0.2.11", "192.0.2.11:5000", true},
		{"127.0.0.1", "127.0.0.1:9090", false},
	}
	for _, tt := range tests {
		err := g.Check(tt.host, netip.MustParseAddrPort(tt.addr))
		if (err == nil) != tt.ok {
			t.Errorf("Check(%q, %s) = %v, want ok=%v", tt.host, tt.addr, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrRefused) {
			t.Errorf("Check(%q, %s) = %v, not ErrRefused", tt.host, tt.addr, err)
		}
	}
	// An exact entry may name one of the listeners on purpose.
	g2, _ := NewGuard([]string{"127.0.0.1:9090"}, func() []netip.AddrPort { return own })
	if err := g2.Check("127.0.0.1", netip.MustParseAddrPort("127.0.0.1:9090")); err != nil {
		t.Errorf("an exact entry for an own listener: %v", err)
	}
}

func TestParseAllow(t *testing.T) {
	for _, s := range []string{"10.0.0.0/8", "192.0.2.1", "192.0.2.1:80", "[::1]:9000", "::1", "fd00::/8", "hooks.internal", "hooks.internal:443"} {
		if _, err := parseAllow(s); err != nil {
			t.Errorf("parseAllow(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "10.0.0.0/99", "host:0", "host:99999", "a b", "*.internal", "http://x/"} {
		if _, err := parseAllow(s); err == nil {
			t.Errorf("parseAllow(%q) accepted", s)
		}
	}
}
