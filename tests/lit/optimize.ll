; irpipe optimize with the committed default model: one model call, 10 verifying compiles,
; never worse than -Oz; the written module parses and verifies again; advice is versioned JSON.
; RUN: rm -rf %t && mkdir -p %t
; RUN: %{irpipe} optimize %s -o %t/out.ll --emit-advice %t/advice.json --json | %FileCheck %s
; CHECK: "objective": "size",
; CHECK: "baseline": "default<Oz>",
; CHECK: "compiles": 10,
; RUN: %{irpipe} features %t/out.ll | %FileCheck %s --check-prefix=OUT
; OUT: TotalInsts
; RUN: cat %t/advice.json | %FileCheck %s --check-prefix=ADVICE
; ADVICE: "format": "irpipe.advice",
; ADVICE: "version": 1,
; RUN: %{irpipe} optimize %s --objective instcount | %FileCheck %s --check-prefix=TEXT
; TEXT: pipeline: {{.+}}
; TEXT: IR instructions: {{[0-9]+}} with default<Oz>, {{[0-9]+}} chosen ({{[0-9.]+}}x); 10 compiles
; RUN: not %{irpipe} optimize %s --model %t/nomodel 2>&1 | %FileCheck %s --check-prefix=NOMODEL
; NOMODEL: irpipe optimize: error: model directory {{.*}}nomodel does not exist
; A corrupt model directory: one error line, no traceback.
; RUN: mkdir -p %t/corrupt && echo '{broken' > %t/corrupt/model.json
; RUN: not %{irpipe} optimize %s --model %t/corrupt 2>&1 | %FileCheck %s --check-prefix=CORRUPT
; CORRUPT: irpipe optimize: error: {{.*}}model.json
; CORRUPT-NOT: Traceback
; Speed runs the program; a module without main() keeps -O3 and says so.
; RUN: %{irpipe} optimize %s --objective speed | %FileCheck %s --check-prefix=SPEED
; SPEED: pipeline: default<O3>
; SPEED: note: speed is measured by running the program and this module defines no main(): kept default<O3>
; Model only: nothing runs; without a loop policy that is -O3.  --no-run is for speed alone.
; RUN: %{irpipe} optimize %s --objective speed --no-run --loop-model none | %FileCheck %s --check-prefix=MODELONLY
; MODELONLY: note: model only (--no-run): kept default<O3> (no loop policy)
; RUN: not %{irpipe} optimize %s --no-run 2>&1 | %FileCheck %s --check-prefix=NOTSPEED
; NOTSPEED: irpipe optimize: error: --no-run is for --objective speed
; RUN: not %{irpipe} optimize %s --loop-search 3 2>&1 | %FileCheck %s --check-prefix=SEARCHSIZE
; SEARCHSIZE: irpipe optimize: error: --loop-search 3: give a number of loops, 0 or more, with --objective speed and a run (not --no-run)
; RUN: not %{irpipe} optimize %s --objective speed --no-run --loop-search 1 2>&1 | %FileCheck %s --check-prefix=SEARCHMODELONLY
; SEARCHMODELONLY: irpipe optimize: error: --loop-search 1: {{.*}}(not --no-run)
; RUN: not %{irpipe} optimize %s --pgo 2>&1 | %FileCheck %s --check-prefix=PGOSIZE
; PGOSIZE: irpipe optimize: error: --pgo: a profile comes from running the program: use --objective speed, not --no-run
; RUN: not %{irpipe} optimize %s --objective speed --no-run --no-polly 2>&1 | %FileCheck %s --check-prefix=POLLYMODELONLY
; POLLYMODELONLY: irpipe optimize: error: --no-polly: Polly is a speed candidate that runs: use it with --objective speed, not --no-run
; RUN: not %{irpipe} optimize %s --whole-program 2>&1 | %FileCheck %s --check-prefix=WHOLESIZE
; WHOLESIZE: irpipe optimize: error: --whole-program: the whole-program build is a speed candidate that runs: use it with --objective speed, not --no-run

define internal i32 @sq(i32 %x) {
entry:
  %m = mul i32 %x, %x
  ret i32 %m
}

define i32 @sumsq(i32 %n) {
entry:
  br label %loop
loop:
  %i = phi i32 [ 0, %entry ], [ %next, %loop ]
  %acc = phi i32 [ 0, %entry ], [ %sum, %loop ]
  %s = call i32 @sq(i32 %i)
  %sum = add i32 %acc, %s
  %next = add i32 %i, 1
  %done = icmp sge i32 %next, %n
  br i1 %done, label %exit, label %loop
exit:
  ret i32 %sum
}
