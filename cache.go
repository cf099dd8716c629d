package spf

import (
	"context"
	"errors"
	"hash/maphash"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf-go/spf/internal/domain"
)

// Defaults of a [Cache]'s settings.
const (
	DefaultCacheEntries = 65536
	DefaultCacheBytes   = 64 << 20 // 64 MiB
	DefaultCacheMaxTTL  = 24 * time.Hour
	DefaultNegativeTTL  = 5 * time.Minute
	DefaultFailureTTL   = 5 * time.Second
)

// The bounds of a [Cache]'s FailureTTL, from RFC 9520 section 3.2: a
// resolution failure is cached for at least 1 second and at most 5
// minutes.
const (
	MinFailureTTL = time.Second
	MaxFailureTTL = 5 * time.Minute
)

// minShardBytes is the least memory a Cache gives each shard: it has
// fewer shards than maxCacheShards when MaxBytes is small, so that one
// shard can hold large answers.
const minShardBytes = 1 << 20

// ghostBytesPer is how many bytes of MaxBytes buy one name in a ghost
// queue: the ghost queues take at most about 3% of MaxBytes (a hash in a
// ring and in a map, some 32 bytes each).
const ghostBytesPer = 1024

// entryOverhead is about what an entry costs beyond its name and answer:
// its node, its key and pointer in the map with its share of the map's
// buckets, and its place on the CLOCK.
const entryOverhead = 128

// errCacheNoResolver is the error of a Cache that has no Resolver.
var errCacheNoResolver = errors.New("spf: Cache has no Resolver")

// maxCacheShards is the most shards a Cache splits its entries into, so
// that lookups from many goroutines rarely contend for one lock.
const maxCacheShards = 64

// A Cache is a [Resolver] that remembers the answers of the Resolver
// behind it for as long as their TTLs allow (RFC 1035 section 3.2.1,
// RFC 2181 section 8), so that repeated checks send no DNS query at all.
//
//   - An answer is kept for its Response.TTL, clamped to [MinTTL,
//     MaxTTL]; an answer with a TTL of zero is not kept, unless MinTTL
//     is set.
//   - A void answer (RFC 7208 section 4.6.4) is kept too: an empty
//     Response for its TTL, which [DNSResolver] sets from the SOA record
//     (RFC 2308 section 5), or NegativeTTL if it is zero; an error that
//     wraps [ErrNotFound], from resolvers that report no TTL, for
//     NegativeTTL.
//   - A resolution failure (every other error: SERVFAIL, a timeout, a
//     network error) is kept for FailureTTL, 5 seconds by default, as
//     RFC 9520 section 3.2 requires of resolvers, so that a dead or slow
//     name is not asked again by every check. A lookup given up because
//     every caller waiting for it had its context cancelled is not a
//     resolution failure and is not kept.
//   - Identical lookups that arrive while one is in flight wait for its
//     answer instead of sending a query of their own. A waiter whose
//     context ends returns at once; the query itself is cancelled when
//     every waiter has gone.
//   - It holds at most MaxBytes bytes of answers (64 MiB by default),
//     counting names, TXT strings, addresses and the parsed SPF record
//     kept with a TXT answer, and at most about MaxEntries answers. When
//     it is full, it drops answers by S3-FIFO, so that the names asked
//     again and again stay while those asked once go (a sender mix of a
//     few large senders and a long tail; the sender domains of a wildcard
//     record). Besides, it remembers the hashes of up to MaxBytes/1024
//     names it dropped recently, in about 3% of MaxBytes.
//     An answer larger than an eighth of a shard (MaxBytes divided into
//     up to 64 shards of at least 1 MiB each; 128 KiB by default, more
//     than any DNS message) is not kept at all. An SPF record of more
//     than 4,096 bytes or 256 terms is kept as text only, not parsed: the
//     checks that read it parse it again.
//
// A hit takes a read lock on one of up to 64 shards, a map lookup, a
// reading of the monotonic clock, an atomic add and an atomic load (and
// a store, for the first three hits after eviction last passed the
// answer), and allocates nothing. Names are keys as given, except
// that upper-case letters are folded (which allocates): check_host()
// queries names in lower case.
//
// A Cache without a Resolver answers every Lookup with an error; a nil
// context is taken as [context.Background].
//
// Set the fields before the first Lookup and do not change them after.
// A Cache is safe for concurrent use. The Responses it returns are shared
// between callers and must not be modified.
type Cache struct {
	// Resolver is the resolver the cache sits in front of. Without one,
	// Lookup returns an error.
	Resolver Resolver
	// MaxEntries bounds the answers kept; if zero, DefaultCacheEntries.
	MaxEntries int
	// MaxBytes bounds the memory the answers kept hold, in bytes; if
	// zero, DefaultCacheBytes.
	MaxBytes int
	// MinTTL is the least TTL an answer is kept for.
	MinTTL time.Duration
	// MaxTTL is the longest TTL an answer is kept for; if zero,
	// DefaultCacheMaxTTL.
	MaxTTL time.Duration
	// NegativeTTL is how long a void answer that carries no TTL is kept;
	// if zero, DefaultNegativeTTL.
	NegativeTTL time.Duration
	// FailureTTL is how long a resolution failure is kept; if zero,
	// DefaultFailureTTL. It is clamped to [MinFailureTTL,
	// MaxFailureTTL]; a negative FailureTTL keeps no failure (against
	// RFC 9520's advice).
	FailureTTL time.Duration

	once       sync.Once
	seed       maphash.Seed
	start      time.Time // the clock's origin: expiries are offsets from it
	now        func() time.Time
	shards     []cacheShard
	perShard   int // entries
	shardBytes int
	ghostCap   int // names each shard's ghost queue remembers

	flightMu sync.Mutex
	flights  map[cacheKey]*cacheFlight
	queries  atomic.Uint64
	// hits are counted in stripes picked at random, so that goroutines
	// hitting the same popular names do not contend for one counter.
	hits [hitStripes]paddedCounter
}

const hitStripes = 8

type paddedCounter struct {
	n atomic.Uint64
	_ [56]byte
}

var (
	_ Resolver       = (*Cache)(nil)
	_ MemoryResolver = (*Cache)(nil)
)

type cacheKey struct {
	name string
	typ  RRType
}

// A cacheEntry is one kept answer: a Response, or an error.
type cacheEntry struct {
	resp    *Response
	err     error
	expires time.Duration // since Cache.start
	size    int           // bytes, as entrySize counts them
}

// A cacheNode holds an entry in its shard's map and in one of its two
// queues.
type cacheNode struct {
	key  cacheKey
	hash uint64 // of key, for the ghost queue
	cacheEntry
	// freq counts the hits since the node was last passed over, up to 3.
	freq atomic.Uint32
	main bool // in the main queue, not the small one; under the shard's mu
}

// A nodeQueue is one of a shard's FIFO queues, oldest first.
type nodeQueue struct {
	buf     []*cacheNode
	head, n int
}

func (q *nodeQueue) push(nd *cacheNode) {
	if q.n == len(q.buf) {
		buf := make([]*cacheNode, max(16, 2*len(q.buf)))
		for i := range q.n {
			buf[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = buf, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = nd
	q.n++
}

func (q *nodeQueue) pop() *cacheNode {
	nd := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return nd
}

type cacheShard struct {
	mu        sync.RWMutex
	m         map[cacheKey]*cacheNode
	small     nodeQueue // S3-FIFO's queues, under mu
	main      nodeQueue
	ghost     ghostQueue
	bytes     int // the sum of the entries' sizes, under mu
	smallSize int // the sum of the sizes of the small queue's entries
	misses    atomic.Uint64
	evictions atomic.Uint64
	_         [64]byte // keep shards' counters on their own cache lines
}

// A ghostQueue remembers the hashes of the last names dropped from a
// shard's small queue, so that a name asked again soon after enters the
// main queue.
type ghostQueue struct {
	ring    []uint64
	head, n int
	set     map[uint64]uint32 // how many times each hash is in ring
}

func (g *ghostQueue) add(h uint64, capacity int) {
	if g.ring == nil {
		g.ring = make([]uint64, capacity)
		g.set = make(map[uint64]uint32)
	}
	if g.n == len(g.ring) {
		old := g.ring[g.head]
		if g.set[old]--; g.set[old] == 0 {
			delete(g.set, old)
		}
		g.head = (g.head + 1) % len(g.ring)
		g.n--
	}
	g.ring[(g.head+g.n)%len(g.ring)] = h
	g.n++
	g.set[h]++
}

func (g *ghostQueue) has(h uint64) bool { return g.set[h] > 0 }

// A cacheFlight is one lookup in progress that identical lookups wait
// for.
type cacheFlight struct {
	done    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	waiters int // under Cache.flightMu
	resp    *Response
	err     error
}

// CacheStats are a [Cache]'s counters since it was made.
type CacheStats struct {
	// Hits counts lookups answered from memory.
	Hits uint64
	// Misses counts lookups not answered from memory.
	Misses uint64
	// Queries counts the lookups passed to the Resolver behind the
	// cache: Misses less those that waited for an identical lookup in
	// flight.
	Queries uint64
	// Evictions counts answers dropped to make room before they expired.
	Evictions uint64
	// Entries is the number of answers held now, expired ones included
	// until they are dropped.
	Entries int
	// Bytes is about how much memory the answers held now take, as
	// counted against MaxBytes.
	Bytes int
}

func (c *Cache) init() {
	c.once.Do(func() {
		c.seed = maphash.MakeSeed()
		c.start = time.Now()
		if c.now != nil {
			c.start = c.now()
		}
		maxEntries := orDefault(c.MaxEntries, DefaultCacheEntries)
		maxBytes := orDefault(c.MaxBytes, DefaultCacheBytes)
		n := 1
		for n < maxCacheShards && n*1024 <= maxEntries && 2*n*minShardBytes <= maxBytes {
			n *= 2
		}
		c.shardBytes = maxBytes / n
		c.shards = make([]cacheShard, n)
		for i := range c.shards {
			c.shards[i].m = make(map[cacheKey]*cacheNode)
		}
		c.perShard = (maxEntries + n - 1) / n
		c.ghostCap = max(1, min(c.perShard, c.shardBytes/ghostBytesPer))
		c.flights = make(map[cacheKey]*cacheFlight)
	})
}

// clock returns the time since the cache's start, on the monotonic
// clock.
func (c *Cache) clock() time.Duration {
	if c.now != nil {
		return c.now().Sub(c.start)
	}
	return time.Since(c.start)
}

func (c *Cache) shard(name string) *cacheShard {
	if len(c.shards) == 1 {
		return &c.shards[0]
	}
	return &c.shards[maphash.String(c.seed, name)&uint64(len(c.shards)-1)]
}

// foldName returns name in lower case in ASCII only (see [domain.Fold]).
func foldName(name string) string { return domain.Fold(name) }

// get returns the unexpired entry for k; touch marks it used.
func (sh *cacheShard) get(k cacheKey, now time.Duration, touch bool) (cacheEntry, bool) {
	sh.mu.RLock()
	nd, ok := sh.m[k]
	var e cacheEntry
	if ok {
		e = nd.cacheEntry
	}
	sh.mu.RUnlock()
	if !ok || e.expires <= now {
		return cacheEntry{}, false
	}
	if touch {
		// A store only when needed keeps hot nodes' lines shared; a
		// count lost to a race does not matter.
		if f := nd.freq.Load(); f < 3 {
			nd.freq.Store(f + 1)
		}
	}
	return e, true
}

// Lookup implements [Resolver]: it answers from memory if it can, and
// otherwise asks the Resolver behind the cache.
func (c *Cache) Lookup(ctx context.Context, name string, typ RRType) (*Response, error) {
	if c.Resolver == nil {
		return nil, errCacheNoResolver
	}
	if ctx == nil {
		ctx = context.Background()
	}
	c.init()
	k := cacheKey{foldName(name), typ}
	sh := c.shard(k.name)
	if e, ok := sh.get(k, c.clock(), true); ok {
		c.hits[rand.Uint32()%hitStripes].n.Add(1)
		return e.resp, e.err
	}
	sh.misses.Add(1)
	return c.fill(ctx, sh, k)
}

// LookupCached returns the answer to the query if the cache holds it,
// with found true, and asks no one otherwise. It makes a Cache a
// [MemoryResolver]; it counts neither hits nor misses.
func (c *Cache) LookupCached(name string, typ RRType) (resp *Response, found bool, err error) {
	c.init()
	k := cacheKey{foldName(name), typ}
	e, ok := c.shard(k.name).get(k, c.clock(), false)
	if !ok {
		return nil, false, nil
	}
	return e.resp, true, e.err
}

// fill answers a miss: it joins the lookup of k in flight, or starts one.
func (c *Cache) fill(ctx context.Context, sh *cacheShard, k cacheKey) (*Response, error) {
	c.flightMu.Lock()
	f := c.flights[k]
	if f == nil {
		// The answer may have been kept since the miss.
		if e, ok := sh.get(k, c.clock(), false); ok {
			c.flightMu.Unlock()
			return e.resp, e.err
		}
		f = &cacheFlight{done: make(chan struct{})}
		// The query outlives the context of the caller that started it
		// if others wait for it; it ends when the last waiter leaves.
		f.ctx, f.cancel = context.WithCancel(context.WithoutCancel(ctx))
		c.flights[k] = f
		c.queries.Add(1)
		go c.run(f, sh, k)
	}
	f.waiters++
	c.flightMu.Unlock()

	select {
	case <-f.done:
		return f.resp, f.err
	case <-ctx.Done():
		c.flightMu.Lock()
		f.waiters--
		if f.waiters == 0 {
			f.cancel()
			if c.flights[k] == f {
				delete(c.flights, k) // nobody may join a cancelled query
			}
		}
		c.flightMu.Unlock()
		return nil, ctx.Err()
	}
}

// run performs the lookup of a flight and keeps its answer.
func (c *Cache) run(f *cacheFlight, sh *cacheShard, k cacheKey) {
	resp, err := c.Resolver.Lookup(f.ctx, k.name, k.typ)
	cancelled := f.ctx.Err() != nil
	f.cancel()
	f.resp, f.err = resp, err
	if !cancelled {
		c.keep(sh, k, resp, err)
	}
	c.flightMu.Lock()
	if c.flights[k] == f {
		delete(c.flights, k)
	}
	c.flightMu.Unlock()
	close(f.done)
}

// keep stores an answer for as long as its TTL allows.
func (c *Cache) keep(sh *cacheShard, k cacheKey, resp *Response, err error) {
	var ttl time.Duration
	switch {
	case err != nil && errors.Is(err, ErrNotFound):
		resp = nil
		ttl = c.negativeTTL()
	case err != nil:
		// A resolution failure (RFC 9520 section 3.2). A cancelled
		// context that reached us through the resolver is not one.
		if errors.Is(err, context.Canceled) {
			return
		}
		ttl = c.failureTTL()
		if ttl <= 0 {
			return
		}
		c.store(sh, k, nil, err, ttl)
		return
	case resp == nil:
		return
	case resp.Len() == 0 && resp.TTL <= 0:
		ttl = c.negativeTTL()
	default:
		ttl = resp.TTL
	}
	ttl = max(ttl, c.MinTTL)
	maxTTL := c.MaxTTL
	if maxTTL <= 0 {
		maxTTL = DefaultCacheMaxTTL
	}
	ttl = min(ttl, maxTTL)
	if ttl <= 0 {
		return
	}
	c.store(sh, k, resp, err, ttl)
}

func (c *Cache) negativeTTL() time.Duration {
	if c.NegativeTTL <= 0 {
		return DefaultNegativeTTL
	}
	return c.NegativeTTL
}

// failureTTL returns how long a resolution failure is kept, or 0 if it
// is not.
func (c *Cache) failureTTL() time.Duration {
	switch {
	case c.FailureTTL < 0:
		return 0
	case c.FailureTTL == 0:
		return DefaultFailureTTL
	}
	return min(max(c.FailureTTL, MinFailureTTL), MaxFailureTTL)
}

// entrySize returns about how many bytes an entry holds. A TXT answer's
// SPF record is parsed now, so that its memoized form is counted.
func entrySize(k cacheKey, resp *Response, err error) int {
	n := entryOverhead + len(k.name)
	if resp != nil {
		if k.typ == TypeTXT {
			resp.spfRecord()
		}
		n += resp.memSize()
	}
	if err != nil {
		n += 64 + len(err.Error()) // the error's value and its text, about
	}
	return n
}

// store keeps an entry for ttl, making room for it in its shard.
func (c *Cache) store(sh *cacheShard, k cacheKey, resp *Response, err error, ttl time.Duration) {
	size := entrySize(k, resp, err)
	if size > c.shardBytes/8 {
		return // too large to be worth keeping
	}
	now := c.clock()
	e := cacheEntry{resp: resp, err: err, expires: now + ttl, size: size}
	h := maphash.String(c.seed, k.name) ^ uint64(k.typ)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if nd, ok := sh.m[k]; ok {
		// An expired entry asked again keeps its place in its queue.
		sh.bytes += size - nd.size
		if !nd.main {
			sh.smallSize += size - nd.size
		}
		nd.cacheEntry = e
		for sh.small.n+sh.main.n > 0 && sh.bytes > c.shardBytes {
			c.evict(sh, now)
		}
		return
	}
	for sh.small.n+sh.main.n > 0 && (len(sh.m) >= c.perShard || sh.bytes+size > c.shardBytes) {
		c.evict(sh, now)
	}
	nd := &cacheNode{key: k, hash: h, cacheEntry: e}
	sh.m[k] = nd
	sh.bytes += size
	if sh.ghost.has(h) {
		nd.main = true
		sh.main.push(nd)
	} else {
		sh.small.push(nd)
		sh.smallSize += size
	}
}

// evict drops one entry of a full shard, chosen by S3-FIFO (Yang et al.,
// "FIFO queues are all you need for cache eviction", SOSP 2023). New
// names enter a small queue, a tenth of the shard; the oldest leaves it
// for the main queue if it was hit while there, and otherwise is dropped,
// its name remembered in the ghost queue (a name asked again soon after
// goes to the main queue directly). The main queue gives each entry
// passed over as many more rounds as its hits since, up to 3. So names
// asked once, such as the sender domains of a wildcard record, pass
// through the small queue without pushing the hot names out. An expired
// entry is dropped whenever it is met.
func (c *Cache) evict(sh *cacheShard, now time.Duration) {
	for {
		if sh.small.n > 0 && (sh.main.n == 0 || sh.smallSize > c.shardBytes/10 || sh.small.n > c.perShard/10) {
			nd := sh.small.pop()
			sh.smallSize -= nd.size
			if nd.expires > now && nd.freq.Load() > 0 {
				nd.freq.Store(0)
				nd.main = true
				sh.main.push(nd)
				continue
			}
			sh.drop(nd, now)
			sh.ghost.add(nd.hash, c.ghostCap)
			return
		}
		nd := sh.main.pop()
		if f := nd.freq.Load(); f > 0 && nd.expires > now {
			nd.freq.Store(f - 1)
			sh.main.push(nd)
			continue
		}
		sh.drop(nd, now)
		return
	}
}

// drop removes a node that has left its queue.
func (sh *cacheShard) drop(nd *cacheNode, now time.Duration) {
	delete(sh.m, nd.key)
	sh.bytes -= nd.size
	if nd.expires > now {
		sh.evictions.Add(1)
	}
}

// Stats returns the cache's counters.
func (c *Cache) Stats() CacheStats {
	c.init()
	s := CacheStats{Queries: c.queries.Load()}
	for i := range c.hits {
		s.Hits += c.hits[i].n.Load()
	}
	for i := range c.shards {
		sh := &c.shards[i]
		s.Misses += sh.misses.Load()
		s.Evictions += sh.evictions.Load()
		sh.mu.RLock()
		s.Entries += len(sh.m)
		s.Bytes += sh.bytes
		sh.mu.RUnlock()
	}
	return s
}
