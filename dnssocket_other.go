//go:build !linux

package spf

// dialUDP returns a new UDP socket connected to server.
func dialUDP(server string) (udpConn, error) { return dialNet(server) }
