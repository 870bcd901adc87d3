package devserver

import (
	"fmt"
	"net"
	"strconv"
)

// freePort asks the kernel for a currently unused TCP port on ip. The port is released before
// returning, so another process could grab it first: Start then picks new ports and tries
// again (see isAddrInUse).
func freePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, fmt.Errorf("find free port on %s: %w", ip, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// checkPortFree fails if ip:port cannot be bound right now. The UI server exits the whole
// process when its listen fails, so we probe the port first and return an error instead.
func checkPortFree(ip string, port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("port %d on %s is not available: %w", port, ip, err)
	}
	return l.Close()
}
