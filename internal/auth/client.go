package auth

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

type proxiesKey struct{}

// WithProxies returns ctx telling ClientIP which peers may name the client
// in X-Forwarded-For (none, without it).
func WithProxies(ctx context.Context, ps Proxies) context.Context {
	return context.WithValue(ctx, proxiesKey{}, ps)
}

// ClientIP is the caller's address: the peer's, or the client a trusted
// proxy names (see WithProxies and Proxies.Client).
func ClientIP(r *http.Request) string {
	ps, _ := r.Context().Value(proxiesKey{}).(Proxies)
	return ps.Client(r)
}

// peerIP is the peer's address without port.
func peerIP(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

// Proxies are the peers trusted to name the client in X-Forwarded-For.
type Proxies []netip.Prefix

// ParseProxies parses addresses and CIDR prefixes ("10.0.0.0/8", "::1").
func ParseProxies(list []string) (Proxies, error) {
	var out Proxies
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: not an address or CIDR prefix", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

func (ps Proxies) trusted(a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// Client resolves r's client address: the peer's, unless the peer is a
// trusted proxy, in which case the right-most X-Forwarded-For address that
// is not itself a trusted proxy. Headers from other peers are ignored, and
// anything that is not an address is never taken.
func (ps Proxies) Client(r *http.Request) string {
	peer := peerIP(r)
	if len(ps) == 0 {
		return peer
	}
	a, err := netip.ParseAddr(peer)
	if err != nil || !ps.trusted(a) {
		return peer
	}
	a = a.Unmap()
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return a.String() // a malformed hop: trust nothing left of it
		}
		if !ps.trusted(h) {
			return h.Unmap().String()
		}
		a = h
	}
	return a.Unmap().String()
}
