package main

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

func TestInstances(t *testing.T) {
	now := time.Unix(1e9, 0)
	m := newInstances(10, time.Minute)
	m.now = func() time.Time { return now }
	ip := netip.MustParseAddr("192.0.2.1")
	m.put("a", &memo{inputs: digestInputs(ip, "h", "s")})
	tests := []struct {
		name                   string
		instance, helo, sender string
		ip                     netip.Addr
		want                   bool
	}{
		{"same message", "a", "h", "s", ip, true},
		{"other instance", "b", "h", "s", ip, false},
		{"other sender under the same instance", "a", "h", "t", ip, false},
		{"other HELO", "a", "g", "s", ip, false},
		{"other client", "a", "h", "s", netip.MustParseAddr("192.0.2.2"), false},
		{"no instance", "", "h", "s", ip, false},
		{"HELO and sender split otherwise", "a", "hs", "", ip, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, got := m.get(tt.instance, digestInputs(tt.ip, tt.helo, tt.sender)); got != tt.want {
				t.Errorf("found %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("bounded", func(t *testing.T) {
		for i := range 1000 {
			m.put(fmt.Sprint(i), &memo{inputs: digestInputs(ip, "", "")})
		}
		if n := m.len(); n > 10 {
			t.Errorf("%d kept, want at most 10", n)
		}
		if _, ok := m.get("999", digestInputs(ip, "", "")); !ok {
			t.Error("the newest was dropped")
		}
	})
	t.Run("expiry", func(t *testing.T) {
		m.put("late", &memo{inputs: digestInputs(ip, "", "")})
		now = now.Add(90 * time.Second)
		if _, ok := m.get("late", digestInputs(ip, "", "")); !ok {
			t.Error("dropped before twice the TTL")
		}
		now = now.Add(61 * time.Second)
		if _, ok := m.get("late", digestInputs(ip, "", "")); ok {
			t.Error("kept after twice the TTL")
		}
	})
}
