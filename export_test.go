package spf

// DNSResolverRetries returns how many UDP queries r has sent again after
// an interval without an answer, for the benchmarks of package spf_test.
func DNSResolverRetries(r *DNSResolver) int64 { return r.pace.retries.Load() }

// DNSResolverPrefetches returns how many prefetch queries r has let
// checks send.
func DNSResolverPrefetches(r *DNSResolver) int64 { return r.pace.prefetches.Load() }

// DNSResolverWaiting returns how many Lookups of r are waiting for an
// identical one in flight.
func DNSResolverWaiting(r *DNSResolver) int {
	r.calls.mu.Lock()
	defer r.calls.mu.Unlock()
	n := 0
	for _, c := range r.calls.m {
		n += c.waiters
	}
	return n
}
