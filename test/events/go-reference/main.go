// Command goreference decodes Kafka message values exactly as the Go interactive consumer
// does, so the TypeScript parser can be tested against the real encoding/json rather than
// against our reading of it.
//
// Protocol: each stdin line is the standard base64 of one raw message value; for each line
// one stdout line is written: "ok <Aid> <Uid>" when json.Unmarshal returned nil, else "err".
// The Aid > 0 rule is applied by the caller, so that this program stays a bare Unmarshal.
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
)

// readEvent mirrors the consumer's event type: no tags, so keys match case-insensitively.
type readEvent struct {
	Aid int64
	Uid int64
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	// Messages reach ~100 KB (deep nesting cases); base64 adds a third, so allow 16 MB lines.
	in.Buffer(make([]byte, 0, 1<<20), 16<<20)
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	line := 0
	for in.Scan() {
		line++
		value, err := base64.StdEncoding.DecodeString(in.Text())
		if err != nil {
			// A bad line is a bug in the test harness, not a decoding result: stop loudly.
			fmt.Fprintf(os.Stderr, "line %d: invalid base64: %v\n", line, err)
			os.Exit(2)
		}
		var evt readEvent
		if err := json.Unmarshal(value, &evt); err != nil {
			out.WriteString("err\n")
			continue
		}
		out.WriteString("ok " + strconv.FormatInt(evt.Aid, 10) + " " + strconv.FormatInt(evt.Uid, 10) + "\n")
	}
	if err := in.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "reading stdin after line %d: %v\n", line, err)
		os.Exit(2)
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintf(os.Stderr, "writing stdout: %v\n", err)
		os.Exit(2)
	}
}
