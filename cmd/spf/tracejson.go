package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf-go/spf"
)

// traceJSONUsage documents the output of trace --json; it is part of
// trace's help.
const traceJSONUsage = `With --json, the output is one JSON object:
  {"steps": [STEP...], "answer": ANSWER}
where ANSWER is what check --json prints, and each STEP is an object
with "kind" and the members that apply to it:
  "check_host"  "domain", "steps": the steps of one check_host(), the
                checked domain's or an include or redirect target's
  "query"       "name", "type", "answer" (strings: TXT texts,
                addresses, names), "error", "elapsed_ms" (not with
                --no-times)
  "record"      "domain", "record": the SPF record selected
  "term"        "domain", "term", "matched", "error", "steps": what the
                term did (its queries, an include's check_host)
  "limit"       "domain", "error": a limit of RFC 7208 section 4.6.4
  "result"      "domain", "result", "term" (the one that decided it),
                "error"
and "lookups" and "void_lookups", the counters after the step (every
kind but check_host). Members with no value are left out.
`

// A traceStep is a node of trace --json's tree.
type traceStep struct {
	Kind      string       `json:"kind"`
	Domain    string       `json:"domain,omitempty"`
	Name      string       `json:"name,omitempty"`
	Type      string       `json:"type,omitempty"`
	Answer    []string     `json:"answer,omitempty"`
	Record    string       `json:"record,omitempty"`
	Term      string       `json:"term,omitempty"`
	Matched   bool         `json:"matched,omitempty"`
	Result    string       `json:"result,omitempty"`
	Error     string       `json:"error,omitempty"`
	ElapsedMS *float64     `json:"elapsed_ms,omitempty"`
	Lookups   *int         `json:"lookups,omitempty"`
	Voids     *int         `json:"void_lookups,omitempty"`
	Steps     []*traceStep `json:"steps,omitempty"`
}

// A traceDoc is the whole of trace --json's output.
type traceDoc struct {
	Steps  []*traceStep `json:"steps"`
	Answer *answer      `json:"answer"`
}

// json writes the tree and the outcome as one JSON object.
func (p *tracePrinter) json(roots []*traceNode, out *spf.Outcome) error {
	doc := traceDoc{Steps: []*traceStep{}, Answer: newAnswer(out)}
	for _, n := range roots {
		if s := p.step(n); s != nil {
			doc.Steps = append(doc.Steps, s)
		}
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(p.w, "%s\n", asciiJSON(b))
	return err
}

// step turns a node into a step; nil for lines that only the text shows.
func (p *tracePrinter) step(n *traceNode) *traceStep {
	var s *traceStep
	switch ev := n.ev; {
	case ev == nil && n.host != "":
		s = &traceStep{Kind: "check_host", Domain: n.host}
	case ev == nil:
		return nil
	default:
		lookups, voids := ev.Lookups, ev.VoidLookups
		s = &traceStep{Kind: ev.Kind.String(), Lookups: &lookups, Voids: &voids}
		if ev.Err != nil {
			s.Error = ev.Err.Error()
		}
		switch ev.Kind {
		case spf.EventQuery:
			s.Name, s.Type = ev.Name, ev.Type.String()
			if r := ev.Response; r != nil {
				s.Answer = append(s.Answer, r.TXT...)
				for _, a := range r.Addrs {
					s.Answer = append(s.Answer, a.String())
				}
				s.Answer = append(s.Answer, r.Names...)
			}
			if p.times {
				ms := float64(ev.Elapsed) / float64(time.Millisecond)
				s.ElapsedMS = &ms
			}
		case spf.EventRecord:
			s.Domain, s.Record = ev.Domain, ev.Record
		case spf.EventTerm:
			s.Domain, s.Term, s.Matched = ev.Domain, ev.Term, ev.Matched
		case spf.EventLimit:
			s.Domain = ev.Domain
		case spf.EventResult:
			s.Domain, s.Result, s.Term = ev.Domain, ev.Result.String(), ev.Term
		}
	}
	for _, c := range n.children {
		if cs := p.step(c); cs != nil {
			s.Steps = append(s.Steps, cs)
		}
	}
	return s
}
