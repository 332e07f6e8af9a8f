package main

import (
	"testing"

	"github.com/anishathalye/porcupine"
)

func op(client int, call, ret int64, in kvInput, out kvOutput) porcupine.Operation {
	return porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret,
		Metadata: opMeta{}}
}

func set(k, v string) kvInput { return kvInput{Op: "set", Key: k, Value: v} }
func get(k string) kvInput    { return kvInput{Op: "get", Key: k} }
func del(k string) kvInput    { return kvInput{Op: "del", Key: k} }
func val(v string) kvOutput   { return kvOutput{Found: true, Value: v} }

var (
	nothing = kvOutput{}
	unknown = kvOutput{Unknown: true}
)

const end = 1000

func check(t *testing.T, want porcupine.CheckResult, ops ...porcupine.Operation) {
	t.Helper()
	if got := porcupine.CheckOperationsTimeout(kvModel, ops, 0); got != want {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestSequentialSetGetDel(t *testing.T) {
	check(t, porcupine.Ok,
		op(0, 0, 1, get("a"), nothing),
		op(0, 2, 3, set("a", "1"), nothing),
		op(0, 4, 5, get("a"), val("1")),
		op(0, 6, 7, del("a"), kvOutput{Count: 1}),
		op(0, 8, 9, get("a"), nothing),
		op(0, 10, 11, del("a"), kvOutput{Count: 0}))
}

func TestStaleReadIsIllegal(t *testing.T) {
	check(t, porcupine.Illegal,
		op(0, 0, 1, set("a", "1"), nothing),
		op(0, 2, 3, set("a", "2"), nothing),
		op(1, 4, 5, get("a"), val("1")))
}

func TestGetAfterDelMustBeNil(t *testing.T) {
	check(t, porcupine.Illegal,
		op(0, 0, 1, set("a", "1"), nothing),
		op(0, 2, 3, del("a"), kvOutput{Count: 1}),
		op(1, 4, 5, get("a"), val("1")))
}

func TestDelCountMustMatch(t *testing.T) {
	check(t, porcupine.Illegal,
		op(0, 0, 1, set("a", "1"), nothing),
		op(0, 2, 3, del("a"), kvOutput{Count: 0}))
}

func TestLostAcknowledgedWriteIsIllegal(t *testing.T) {
	check(t, porcupine.Illegal,
		op(0, 0, 1, set("a", "1"), nothing),
		op(1, 5, 6, get("a"), nothing))
}

func TestConcurrentOpsMayOrderEitherWay(t *testing.T) {
	check(t, porcupine.Ok,
		op(0, 0, 10, set("a", "1"), nothing),
		op(1, 1, 2, get("a"), nothing),
		op(2, 3, 4, get("a"), val("1")),
		op(3, 5, 12, del("a"), kvOutput{Count: 1}),
		op(4, 13, 14, get("a"), nothing))
}

func TestIndeterminateWriteMayApplyLateOrNever(t *testing.T) {
	// A failed set may take effect long after it was called ...
	check(t, porcupine.Ok,
		op(0, 0, 1, set("a", "1"), nothing),
		op(1, 2, end, set("a", "2"), unknown),
		op(0, 10, 11, get("a"), val("1")),
		op(0, 20, 21, get("a"), val("2")))
	// ... or never.
	check(t, porcupine.Ok,
		op(0, 0, 1, set("a", "1"), nothing),
		op(1, 2, end, set("a", "2"), unknown),
		op(0, 10, 11, get("a"), val("1")))
	// But not before it was called, and not twice.
	check(t, porcupine.Illegal,
		op(0, 0, 1, get("a"), val("2")),
		op(1, 2, end, set("a", "2"), unknown))
	check(t, porcupine.Illegal,
		op(1, 0, end, set("a", "2"), unknown),
		op(0, 1, 2, get("a"), val("2")),
		op(0, 3, 4, set("a", "3"), nothing),
		op(0, 5, 6, get("a"), val("2")))
	// An indeterminate del accepts any count.
	check(t, porcupine.Ok,
		op(0, 0, 1, set("a", "1"), nothing),
		op(1, 2, end, del("a"), unknown),
		op(0, 3, 4, get("a"), nothing))
}

func TestKeysAreIndependent(t *testing.T) {
	check(t, porcupine.Ok,
		op(0, 0, 1, set("a", "1"), nothing),
		op(0, 2, 3, set("b", "2"), nothing),
		op(1, 4, 5, get("a"), val("1")),
		op(1, 6, 7, get("b"), val("2")))
	check(t, porcupine.Illegal,
		op(0, 0, 1, set("a", "1"), nothing),
		op(1, 4, 5, get("b"), val("1")))
}
