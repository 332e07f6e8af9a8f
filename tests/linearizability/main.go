// lincheck: checks a recorded Clossyne history for linearizability, per key, with Porcupine.
//
// The history is the JSON the fault driver (tests/integration/linearizability.py) writes:
//
//	{"meta": {...}, "faults": [{"kind", "detail", "start", "end", "ok"}],
//	 "ops": [{"client", "op": "set"|"get"|"del", "key", "value", "call", "return",
//	          "outcome": "ok"|"error"|"timeout", "found", "result", "count", "error"}]}
//
// Times are nanoseconds since the history began. A write (set, del) that failed or timed out is
// indeterminate: it may have taken effect at any time after its call, so its return time is the end
// of the history and any result is accepted. A read that failed is dropped (it observed nothing), and
// so is a write the driver marks "refused": an error reply that promises the write never reached a
// worker (the frontend could not hand it to the broker, or the broker refused it before planning).
//
// Exit status: 0 linearizable, 1 a violation (described on stdout, and visualized in --html),
// 2 bad input or usage, 3 the check did not finish within --timeout.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

type fault struct {
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
	Start  int64  `json:"start"`
	End    int64  `json:"end"`
	Ok     bool   `json:"ok"`
}

type record struct {
	Client  int     `json:"client"`
	Op      string  `json:"op"`
	Key     string  `json:"key"`
	Value   string  `json:"value"`
	Call    int64   `json:"call"`
	Return  *int64  `json:"return"`
	Outcome string  `json:"outcome"`
	Found   bool    `json:"found"`
	Result  *string `json:"result"`
	Count   int     `json:"count"`
	Error   string  `json:"error"`
	Stale   bool    `json:"injected_stale"`
}

type history struct {
	Meta   map[string]interface{} `json:"meta"`
	Faults []fault                `json:"faults"`
	Ops    []record               `json:"ops"`
}

// The per-key model: the state is the key's value, or absent.
type kvInput struct {
	Op    string
	Key   string
	Value string
}

type kvOutput struct {
	Unknown bool // an indeterminate write: any result is accepted
	Found   bool // get: a value was returned
	Value   string
	Count   int // del: keys deleted
}

type kvState struct {
	Present bool
	Value   string
}

// opMeta travels with each operation so a violation can be described in the driver's terms.
type opMeta struct {
	Index   int
	Outcome string
	Stale   bool // a stale read the driver injected (to test this checker)
}

func short(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}

func describeState(s kvState) string {
	if !s.Present {
		return "nil"
	}
	return fmt.Sprintf("%q", short(s.Value))
}

var kvModel = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, op := range h {
			k := op.Input.(kvInput).Key
			byKey[k] = append(byKey[k], op)
		}
		keys := make([]string, 0, len(byKey))
		for k := range byKey {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() interface{} { return kvState{} },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		st := state.(kvState)
		in := input.(kvInput)
		out := output.(kvOutput)
		switch in.Op {
		case "get":
			if out.Found != st.Present || (st.Present && out.Value != st.Value) {
				return false, st
			}
			return true, st
		case "set":
			return true, kvState{Present: true, Value: in.Value}
		case "del":
			want := 0
			if st.Present {
				want = 1
			}
			return out.Unknown || out.Count == want, kvState{}
		}
		return false, st
	},
	DescribeOperation: func(input, output interface{}) string {
		in := input.(kvInput)
		out := output.(kvOutput)
		switch in.Op {
		case "get":
			if !out.Found {
				return "get() -> nil"
			}
			return fmt.Sprintf("get() -> %q", short(out.Value))
		case "set":
			if out.Unknown {
				return fmt.Sprintf("set(%q) -> ?", short(in.Value))
			}
			return fmt.Sprintf("set(%q) -> OK", short(in.Value))
		case "del":
			if out.Unknown {
				return "del() -> ?"
			}
			return fmt.Sprintf("del() -> %d", out.Count)
		}
		return in.Op
	},
	DescribeState: func(state interface{}) string { return describeState(state.(kvState)) },
	DescribeOperationMetadata: func(info interface{}) string {
		if m, ok := info.(opMeta); ok {
			if m.Stale {
				return fmt.Sprintf("op #%d (%s, an injected stale read)", m.Index, m.Outcome)
			}
			return fmt.Sprintf("op #%d (%s)", m.Index, m.Outcome)
		}
		return ""
	},
}

type stats struct {
	total, checked, dropped, refused, indeterminate int
	byOp                                            map[string]int
	okByOp                                          map[string]int
}

func ms(t int64) string { return fmt.Sprintf("%.3fs", float64(t)/1e9) }

func main() {
	htmlPath := flag.String("html", "", "write Porcupine's visualization here when a violation is found")
	alwaysHTML := flag.Bool("always-html", false, "write the visualization even when the history is linearizable")
	timeout := flag.Duration("timeout", 120*time.Second, "give up (exit 3) after this long")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: lincheck [--html FILE] [--timeout D] HISTORY.json\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	data, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fmt.Fprintf(os.Stderr, "lincheck: %v\n", err)
		os.Exit(2)
	}
	var h history
	if err := json.Unmarshal(data, &h); err != nil {
		fmt.Fprintf(os.Stderr, "lincheck: %s is not a history: %v\n", flag.Arg(0), err)
		os.Exit(2)
	}

	// The end of the history: later than every call and every return.
	var end int64
	for _, r := range h.Ops {
		if r.Call > end {
			end = r.Call
		}
		if r.Return != nil && *r.Return > end {
			end = *r.Return
		}
	}
	end++

	st := stats{byOp: map[string]int{}, okByOp: map[string]int{}}
	perKey := map[string]int{}
	var ops []porcupine.Operation
	for i, r := range h.Ops {
		st.total++
		st.byOp[r.Op]++
		if r.Op != "get" && r.Op != "set" && r.Op != "del" {
			fmt.Fprintf(os.Stderr, "lincheck: op #%d: unknown op %q\n", i, r.Op)
			os.Exit(2)
		}
		ok := r.Outcome == "ok"
		if ok && r.Return == nil {
			fmt.Fprintf(os.Stderr, "lincheck: op #%d: ok but no return time\n", i)
			os.Exit(2)
		}
		in := kvInput{Op: r.Op, Key: r.Key, Value: r.Value}
		var out kvOutput
		ret := end
		switch {
		case ok:
			ret = *r.Return
			st.okByOp[r.Op]++
			out = kvOutput{Found: r.Found, Count: r.Count}
			if r.Result != nil {
				out.Value = *r.Result
			}
			if r.Op == "get" && r.Found != (r.Result != nil) {
				fmt.Fprintf(os.Stderr, "lincheck: op #%d: found=%v but result %v\n", i, r.Found, r.Result)
				os.Exit(2)
			}
		case r.Op == "get":
			st.dropped++ // a failed read observed nothing
			continue
		case r.Outcome == "refused":
			st.refused++ // a write that certainly had no effect
			continue
		default:
			st.indeterminate++
			out = kvOutput{Unknown: true}
		}
		if ret < r.Call {
			fmt.Fprintf(os.Stderr, "lincheck: op #%d returns before its call\n", i)
			os.Exit(2)
		}
		st.checked++
		perKey[r.Key]++
		ops = append(ops, porcupine.Operation{ClientId: r.Client, Input: in, Call: r.Call, Output: out,
			Return: ret, Metadata: opMeta{Index: i, Outcome: r.Outcome, Stale: r.Stale}})
	}
	keys := make([]string, 0, len(perKey))
	for k := range perKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	clients := map[int]bool{}
	for _, r := range h.Ops {
		clients[r.Client] = true
	}
	fmt.Printf("lincheck: %s\n", flag.Arg(0))
	fmt.Printf("  history: %.1f s, %d clients, %d operations (set %d, get %d, del %d)\n",
		float64(end)/1e9, len(clients), st.total, st.byOp["set"], st.byOp["get"], st.byOp["del"])
	fmt.Printf("  completed: set %d, get %d, del %d; failed writes: indeterminate %d, refused (dropped) %d; "+
		"failed reads (dropped) %d\n", st.okByOp["set"], st.okByOp["get"], st.okByOp["del"], st.indeterminate,
		st.refused, st.dropped)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s:%d", k, perKey[k]))
	}
	fmt.Printf("  keys checked: %d (%s)\n", len(keys), strings.Join(parts, " "))
	faultKinds := map[string][2]int{}
	nFaults := 0
	for _, f := range h.Faults {
		if f.Kind == "heal" {
			continue
		}
		nFaults++
		c := faultKinds[f.Kind]
		c[0]++
		if f.Ok {
			c[1]++
		}
		faultKinds[f.Kind] = c
	}
	var kinds []string
	for k := range faultKinds {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	parts = parts[:0]
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s %d (%d completed)", k, faultKinds[k][0], faultKinds[k][1]))
	}
	if len(parts) == 0 {
		parts = append(parts, "none")
	}
	fmt.Printf("  faults injected: %d: %s\n", nFaults, strings.Join(parts, ", "))
	if v, ok := h.Meta["stale_reads_injected"]; ok {
		fmt.Printf("  stale reads injected by the driver (a test of this checker): %v\n", v)
	}

	// A plain check first (faster); the verbose one, which keeps what a description and the
	// visualization need, only when asked for or when there is a violation to describe.
	started := time.Now()
	res := porcupine.CheckOperationsTimeout(kvModel, ops, *timeout)
	fmt.Printf("  checked in %.1f s\n", time.Since(started).Seconds())
	var info porcupine.LinearizationInfo
	if res == porcupine.Illegal || (res == porcupine.Ok && *alwaysHTML && *htmlPath != "") {
		started = time.Now()
		var again porcupine.CheckResult
		again, info = porcupine.CheckOperationsVerbose(kvModel, ops, *timeout)
		if again != res {
			fmt.Printf("  (the verbose check said %v, in %.1f s: no description)\n", again,
				time.Since(started).Seconds())
			if res == porcupine.Illegal {
				fmt.Printf("  verdict: NOT LINEARIZABLE\n")
				os.Exit(1)
			}
		}
	}

	writeHTML := func() {
		if *htmlPath == "" {
			return
		}
		if err := porcupine.VisualizePath(kvModel, info, *htmlPath); err != nil {
			fmt.Printf("  (could not write the visualization: %v)\n", err)
		} else {
			fmt.Printf("  visualization: %s\n", *htmlPath)
		}
	}

	switch res {
	case porcupine.Ok:
		fmt.Printf("  verdict: LINEARIZABLE (every key)\n")
		if *alwaysHTML {
			writeHTML()
		}
		os.Exit(0)
	case porcupine.Unknown:
		fmt.Printf("  verdict: UNKNOWN (the check did not finish within %v)\n", *timeout)
		os.Exit(3)
	}

	// Illegal: find the keys whose longest partial linearization misses operations, and describe.
	partitions := kvModel.Partition(ops)
	partials := info.PartialLinearizationsOperations()
	var bad []string
	for p, part := range partitions {
		longest := []porcupine.Operation{}
		for _, l := range partials[p] {
			if len(l) > len(longest) {
				longest = l
			}
		}
		if len(longest) == len(part) {
			continue
		}
		key := part[0].Input.(kvInput).Key
		bad = append(bad, key)
		describe(key, part, longest, h)
	}
	fmt.Printf("  verdict: NOT LINEARIZABLE (keys: %s)\n", strings.Join(bad, ", "))
	writeHTML()
	os.Exit(1)
}

func opLine(op porcupine.Operation) string {
	m := op.Metadata.(opMeta)
	ret := ms(op.Return)
	if op.Output.(kvOutput).Unknown {
		ret = "end"
	}
	note := ""
	if m.Stale {
		note = "   (an injected stale read)"
	}
	return fmt.Sprintf("#%d client %d [%s, %s] %s%s", m.Index, op.ClientId, ms(op.Call), ret,
		kvModel.DescribeOperation(op.Input, op.Output), note)
}

// describe prints, for one key, the end of the longest linearizable prefix Porcupine found, the
// operations it could not place after it, and the faults around them.
func describe(key string, part, longest []porcupine.Operation, h history) {
	fmt.Printf("  VIOLATION on key %q: %d of its %d operations linearize at most\n", key, len(longest),
		len(part))
	state := kvModel.Init()
	states := make([]interface{}, len(longest))
	for i, op := range longest {
		_, state = kvModel.Step(state, op.Input, op.Output)
		states[i] = state
	}
	from := len(longest) - 6
	if from < 0 {
		from = 0
	}
	fmt.Printf("    the longest linearizable prefix ends with:\n")
	for i := from; i < len(longest); i++ {
		fmt.Printf("      %s   => %s\n", opLine(longest[i]), describeState(states[i].(kvState)))
	}
	in := map[int]bool{}
	for _, op := range longest {
		in[op.Metadata.(opMeta).Index] = true
	}
	var rest []porcupine.Operation
	for _, op := range part {
		if !in[op.Metadata.(opMeta).Index] {
			rest = append(rest, op)
		}
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i].Return < rest[j].Return })
	if len(rest) > 6 {
		rest = rest[:6]
	}
	fmt.Printf("    operations that cannot come next (earliest returns first):\n")
	var lo, hi int64 = 1 << 62, 0
	for _, op := range rest {
		fmt.Printf("      %s\n", opLine(op))
		if !op.Output.(kvOutput).Unknown {
			if op.Call < lo {
				lo = op.Call
			}
			if op.Return > hi {
				hi = op.Return
			}
		}
	}
	if len(longest) > 0 {
		last := longest[len(longest)-1]
		if last.Call < lo {
			lo = last.Call
		}
	}
	if hi == 0 {
		return
	}
	fmt.Printf("    faults from 10 s before to the end of those operations:\n")
	n := 0
	for _, f := range h.Faults {
		if f.End >= lo-10_000_000_000 && f.Start <= hi {
			fmt.Printf("      [%s, %s] %s: %s (ok=%v)\n", ms(f.Start), ms(f.End), f.Kind, f.Detail, f.Ok)
			n++
		}
	}
	if n == 0 {
		fmt.Printf("      none\n")
	}
}
