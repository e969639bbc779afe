package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrRefused marks a connection whose destination the Guard does not allow.
var ErrRefused = errors.New("destination refused")

// Guard decides which addresses webhook deliveries may connect to. It
// decides on the address actually dialled (after name resolution, on every
// connection), not on the URL's text, so neither an encoded path, a name
// that resolves to loopback nor a redirect gets around it.
//
// Refused unless allowed: loopback, link-local (169.254.0.0/16, fe80::/10;
// cloud metadata services live there), unspecified, multicast and
// broadcast addresses. acre's own listeners are refused even when a
// CIDR covers them, unless an entry names their exact address and port.
type Guard struct {
	setting string // the configuration key of the allow-list, for messages
	allow   []allowEntry
	own     func() []netip.AddrPort
	local   func() []netip.Addr
}

// allowEntry is one operator allow-list entry: a prefix (a CIDR or one
// address) or a host name, with a port (0: any).
type allowEntry struct {
	prefix netip.Prefix
	host   string
	port   uint16
}

// NewGuard parses the operator's allow-list: CIDRs ("10.0.0.0/8"),
// addresses ("192.0.2.7"), either with a port ("127.0.0.1:9000",
// "[::1]:9000"), or host names with or without a port
// ("hooks.internal:8443"), which allow whatever the name resolves to.
// own lists acre's listening addresses (may be nil).
func NewGuard(allow []string, own func() []netip.AddrPort) (*Guard, error) {
	return NewGuardFor("webhooks.allow", allow, own)
}

// NewGuardFor is NewGuard for another allow-list: setting is its
// configuration key, named in errors (such as "tasks.allow").
func NewGuardFor(setting string, allow []string, own func() []netip.AddrPort) (*Guard, error) {
	if own == nil {
		own = func() []netip.AddrPort { return nil }
	}
	g := &Guard{setting: setting, own: own, local: interfaceAddrs}
	for _, s := range allow {
		e, err := parseAllow(s)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", setting, s, err)
		}
		g.allow = append(g.allow, e)
	}
	return g, nil
}

func parseAllow(s string) (allowEntry, error) {
	s = strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(s); err == nil {
		return allowEntry{prefix: p.Masked()}, nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return allowEntry{prefix: netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())}, nil
	}
	host, port := s, uint16(0)
	if h, ps, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.ParseUint(ps, 10, 16)
		if err != nil || n == 0 {
			return allowEntry{}, errors.New("the port must be 1-65535")
		}
		host, port = h, uint16(n)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return allowEntry{prefix: netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), port: port}, nil
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "" || strings.ContainsAny(host, "/ *") {
		return allowEntry{}, errors.New("use a CIDR, an address or a host name, each optionally with :port")
	}
	return allowEntry{host: host, port: port}, nil
}

// matches reports whether e covers a connection to ap for URL host host,
// and whether it names the port.
func (e allowEntry) matches(host string, ap netip.AddrPort) (ok, exact bool) {
	if e.port != 0 && e.port != ap.Port() {
		return false, false
	}
	if e.host != "" {
		ok = e.host == host
	} else {
		ok = e.prefix.Contains(ap.Addr())
	}
	return ok, ok && e.port != 0
}

// Check returns nil when a delivery for URL host host may connect to ap,
// else an error wrapping ErrRefused that says why and what to configure.
func (g *Guard) Check(host string, ap netip.AddrPort) error {
	ap = netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	allowed, exact := false, false
	for _, e := range g.allow {
		ok, ex := e.matches(host, ap)
		allowed, exact = allowed || ok, exact || ex
	}
	if g.isOwn(ap) && !exact {
		return fmt.Errorf("%w: %s is this server's own listener", ErrRefused, ap)
	}
	if allowed {
		return nil
	}
	a := ap.Addr()
	why := ""
	switch {
	case a.IsLoopback():
		why = "loopback"
	case a.IsLinkLocalUnicast():
		why = "link-local (where cloud metadata services answer)"
	case a.IsUnspecified():
		why = "unspecified"
	case a.IsMulticast():
		why = "multicast"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		why = "broadcast"
	default:
		return nil
	}
	return fmt.Errorf("%w: %s is a %s address; an operator may allow it in the configuration (%s)", ErrRefused, ap, why, g.setting)
}

// isOwn reports whether ap is one of acre's listeners; a listener on an
// unspecified address owns its port on every local address.
func (g *Guard) isOwn(ap netip.AddrPort) bool {
	for _, own := range g.own() {
		if own.Port() != ap.Port() {
			continue
		}
		oa := own.Addr().Unmap().WithZone("")
		if oa == ap.Addr() {
			return true
		}
		if oa.IsUnspecified() {
			if ap.Addr().IsLoopback() || ap.Addr().IsUnspecified() {
				return true
			}
			for _, l := range g.local() {
				if l == ap.Addr() {
					return true
				}
			}
		}
	}
	return false
}

func interfaceAddrs() []netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr().Unmap().WithZone(""))
		}
	}
	return out
}

type hostKey struct{}

// Dialer returns a dial function whose every connection is checked by
// the Guard on the address actually dialled (after name resolution).
func (g *Guard) Dialer(timeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second,
		ControlContext: func(ctx context.Context, network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: cannot parse %q", ErrRefused, address)
			}
			host, _ := ctx.Value(hostKey{}).(string)
			return g.Check(host, ap)
		}}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		return d.DialContext(context.WithValue(ctx, hostKey{}, host), network, addr)
	}
}

// Client returns the HTTP client deliveries use: every connection is
// checked by the Guard as it is dialled, no proxy is used (it would reach
// anything on the client's behalf), and redirects are not followed (the
// 3xx is the delivery's answer), so custom headers never travel on.
func (g *Guard) Client(timeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           g.Dialer(timeout),
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
