package server

import (
	"net"
	"net/netip"
	"sync"
)

// listeners records the addresses this server listens on, so that webhook
// deliveries (which acre makes on its users' behalf) cannot reach them.
type listeners struct {
	mu    sync.Mutex
	addrs []netip.AddrPort
}

// add records a listener's address (a TCP address; others are ignored).
func (l *listeners) add(a net.Addr) {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.addrs = append(l.addrs, ap)
}

// list returns the recorded addresses.
func (l *listeners) list() []netip.AddrPort {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]netip.AddrPort(nil), l.addrs...)
}
