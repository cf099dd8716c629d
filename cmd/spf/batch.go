package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/spf-go/spf"
)

// maxBatchLine is the longest query line --batch reads; a longer line is
// answered with an error and skipped.
const maxBatchLine = 64 << 10

// The read-ahead window of --batch: how many lines, and how many bytes of
// input, may wait for their answers to be written. Answers keep the input
// order, so while the oldest line waits (for a dead name, up to the
// check's timeout) the lines after it are read and checked: a window of
// thousands of lines lets a few slow lines in a batch cost about one
// timeout in all, not one timeout each.
const (
	batchWindowLines = 4096
	batchWindowBytes = 16 << 20
)

// A batchQuery is one line of --batch input.
type batchQuery struct {
	IP       string          `json:"ip"`
	HELO     string          `json:"helo"`
	Sender   *string         `json:"sender"`
	HELOOnly bool            `json:"helo_only"`
	ID       json.RawMessage `json:"id"`
}

// A batchError is the answer to a line that is not a valid query.
type batchError struct {
	ID    json.RawMessage `json:"id,omitempty"`
	Line  int             `json:"line"`
	Error string          `json:"error"`
}

// A batchJob is one line on its way from input to output.
type batchJob struct {
	line int
	size int // bytes of input, held against batchWindowBytes
	q    query
	id   json.RawMessage
	out  []byte        // the answer line, set before done is closed
	done chan struct{} // closed when out is set
}

// runBatch answers the queries of stdin, one JSON line each, in order.
// Up to concurrency checks run at once, and at most the larger of
// batchWindowLines and 4×concurrency lines, and batchWindowBytes of
// input, are held in memory. Answers are flushed whenever the next one is
// not ready yet, so that no answer waits for later input or work.
func runBatch(c *spf.Checker, concurrency int, stdin io.Reader, stdout, stderr io.Writer) int {
	ordered := make(chan *batchJob, max(batchWindowLines, 4*concurrency)) // every job, in input order
	work := make(chan *batchJob, concurrency)                             // jobs that need a check
	window := newByteWindow(batchWindowBytes)

	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for j := range work {
				out := j.q.do(context.Background(), c)
				a := newAnswer(&out)
				a.ID = j.id
				j.out = marshalLine(a)
				close(j.done)
			}
		})
	}

	var readErr error
	go func() {
		defer close(ordered)
		defer close(work)
		readErr = readBatch(stdin, func(j *batchJob) {
			window.acquire(j.size)
			ordered <- j
			if j.out == nil {
				work <- j
			}
		})
	}()

	bw := bufio.NewWriterSize(stdout, 64<<10)
	var writeErr error
	write := func(b []byte) {
		if writeErr == nil {
			_, writeErr = bw.Write(b)
		}
	}
	flush := func() {
		if writeErr == nil {
			writeErr = bw.Flush()
		}
	}
	for {
		var j *batchJob
		var ok bool
		select {
		case j, ok = <-ordered:
		default:
			flush()
			j, ok = <-ordered
		}
		if !ok {
			break
		}
		select {
		case <-j.done:
		default:
			flush()
			<-j.done
		}
		write(j.out)
		window.release(j.size)
	}
	flush()
	wg.Wait()
	if readErr != nil {
		fmt.Fprintf(stderr, "spf check: reading standard input: %v\n", readErr)
		return exitUsage
	}
	if writeErr != nil {
		fmt.Fprintf(stderr, "spf check: writing standard output: %v\n", writeErr)
		return exitUsage
	}
	return 0
}

// readBatch reads query lines and passes each as a job to emit: a job
// whose out is already set (a bad line) needs no check. Blank lines are
// skipped. It returns the first read error other than io.EOF.
func readBatch(r io.Reader, emit func(*batchJob)) error {
	br := bufio.NewReaderSize(r, maxBatchLine)
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		tooLong := false
		for errors.Is(err, bufio.ErrBufferFull) {
			tooLong = true
			_, err = br.ReadSlice('\n')
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		eof := err != nil
		switch {
		case tooLong:
			emit(errorJob(n, nil, fmt.Sprintf("line longer than %d bytes", maxBatchLine)))
		case len(bytes.TrimSpace(line)) > 0:
			j := parseBatchLine(n, line)
			j.size = len(line)
			emit(j)
		}
		if eof {
			return nil
		}
	}
}

// parseBatchLine turns one line into a job.
func parseBatchLine(n int, line []byte) *batchJob {
	var bq batchQuery
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&bq); err != nil {
		return errorJob(n, nil, batchJSONProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errorJob(n, bq.ID, "the line holds more than one query (one JSON object a line)")
	}
	id := bytes.Clone(bq.ID)
	sender := ""
	if bq.Sender != nil {
		sender = *bq.Sender
	}
	q, err := newQuery(bq.IP, sender, bq.HELO, bq.HELOOnly, bq.Sender != nil, batchInputs())
	if err != nil {
		return errorJob(n, id, err.Error())
	}
	return &batchJob{line: n, q: q, id: id, done: make(chan struct{})}
}

// batchInputs are the names of a query's inputs in a --batch line.
func batchInputs() inputNames {
	return inputNames{ip: `"ip"`, sender: `"sender"`, helo: `"helo"`, heloOnly: `"helo_only": true`}
}

// batchJSONProblem says in plain words what is wrong with a line that
// does not decode as a query, without Go's names for it.
func batchJSONProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return "a query must be a JSON object such as {\"ip\":\"192.0.2.1\",\"sender\":\"a@example.org\"}, not " + jsonKind(typeErr.Value)
	case errors.As(err, &typeErr) && typeErr.Field == "helo_only":
		return "\"helo_only\" must be true or false, not " + jsonKind(typeErr.Value)
	case errors.As(err, &typeErr):
		return fmt.Sprintf("%q must be a string, not %s", typeErr.Field, jsonKind(typeErr.Value))
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("not valid JSON at byte %d: %s", syntaxErr.Offset, syntaxErr.Error())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON object is not complete"
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return "unknown member " + f + " (a query has \"ip\", \"sender\", \"helo\", \"helo_only\" and \"id\")"
	}
	return "not a valid query: " + strings.TrimPrefix(err.Error(), "json: ")
}

// jsonKind names the kind of a JSON value as encoding/json reports it
// ("number", "bool", "array", "object", "string").
func jsonKind(v string) string {
	switch v {
	case "bool":
		return "true or false"
	case "array", "object":
		return "an " + v
	case "number", "string":
		return "a " + v
	}
	if strings.HasPrefix(v, "number") {
		return "a number"
	}
	return v
}

func errorJob(n int, id json.RawMessage, msg string) *batchJob {
	j := &batchJob{line: n, done: make(chan struct{})}
	j.out = marshalLine(&batchError{ID: bytes.Clone(id), Line: n, Error: msg})
	close(j.done)
	return j
}

// marshalLine returns v as a line of JSON in ASCII (see asciiJSON).
func marshalLine(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(&batchError{Error: "cannot encode the answer: " + err.Error()})
	}
	return append(asciiJSON(b), '\n')
}

// A byteWindow bounds the bytes of input held by lines not yet answered.
type byteWindow struct {
	mu   sync.Mutex
	cond sync.Cond
	max  int
	used int
}

func newByteWindow(max int) *byteWindow {
	w := &byteWindow{max: max}
	w.cond.L = &w.mu
	return w
}

// acquire waits until n more bytes fit in the window; a line larger than
// the whole window waits until the window is empty.
func (w *byteWindow) acquire(n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.used > 0 && w.used+n > w.max {
		w.cond.Wait()
	}
	w.used += n
}

func (w *byteWindow) release(n int) {
	w.mu.Lock()
	w.used -= n
	w.mu.Unlock()
	w.cond.Broadcast()
}
