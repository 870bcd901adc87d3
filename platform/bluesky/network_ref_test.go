package bluesky_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The reference network (internal/atprotodev) answers, and every socket its Node process listens
// on is bound to 127.0.0.1.
func TestReferenceNetworkListensOnLoopbackOnly(t *testing.T) {
	n := network(t)

	for _, u := range []string{n.PDS + "/xrpc/com.atproto.server.describeServer", n.AppView + "/xrpc/_health", n.PLC + "/_health"} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: HTTP %d", u, resp.StatusCode)
		}
	}
	var desc struct {
		Did string `json:"did"`
	}
	resp, err := http.Get(n.PDS + "/xrpc/com.atproto.server.describeServer")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&desc)
	resp.Body.Close()
	if desc.Did == "" || desc.Did != n.PDSDID {
		t.Fatalf("describeServer did %q, the network says %q", desc.Did, n.PDSDID)
	}

	listening := listeningSockets(t, n.Pid())
	if len(listening) < 3 {
		t.Fatalf("the node process listens on %v: want at least the PLC, the PDS and the AppView", listening)
	}
	for _, addr := range listening {
		if !strings.HasPrefix(addr, "127.0.0.1:") {
			t.Errorf("the network listens on %s: every service must bind 127.0.0.1 only", addr)
		}
	}
	t.Logf("listening on %v", listening)
}

// listeningSockets lists the local addresses of the TCP sockets process pid listens on, from
// /proc: its socket inodes, matched against the kernel's TCP tables.
func listeningSockets(t *testing.T, pid int) []string {
	t.Helper()
	inodes := map[string]bool{}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join(fmt.Sprintf("/proc/%d/fd", pid), fd.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	var out []string
	for _, table := range []string{"tcp", "tcp6"} {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" || !inodes[f[9]] { // 0A: LISTEN
				continue
			}
			out = append(out, decodeAddr(t, f[1]))
		}
	}
	return out
}

// decodeAddr turns /proc/net/tcp's "0100007F:1F90" (or tcp6's 32 hex digits) into "127.0.0.1:8080".
func decodeAddr(t *testing.T, s string) string {
	hexIP, hexPort, _ := strings.Cut(s, ":")
	port, _ := strconv.ParseUint(hexPort, 16, 16)
	var ip []byte
	for i := 0; i+8 <= len(hexIP); i += 8 { // 32-bit words, little-endian
		w, _ := strconv.ParseUint(hexIP[i:i+8], 16, 32)
		ip = append(ip, byte(w), byte(w>>8), byte(w>>16), byte(w>>24))
	}
	switch len(ip) {
	case 4:
		return fmt.Sprintf("%d.%d.%d.%d:%d", ip[0], ip[1], ip[2], ip[3], port)
	case 16:
		if string(ip[:12]) == "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff" {
			return fmt.Sprintf("%d.%d.%d.%d:%d", ip[12], ip[13], ip[14], ip[15], port)
		}
		return fmt.Sprintf("[%x]:%d", ip, port)
	}
	t.Fatalf("unreadable address %q", s)
	return ""
}
