; irpipe-apply-loops writes the "loops" decisions of a version 2 advice entry as llvm.loop metadata:
; only the decided entries are replaced (mustprogress stays); the FP rule refuses forced
; vectorization of a strict FP reduction; bad values and unknown loop ids are one warning each.
; RUN: rm -rf %t && mkdir -p %t
; RUN: echo '{"format": "irpipe.advice", "version": 2, "modules": [{"source": "apply-loops.c", "loops": {' > %t/a.json
; RUN: echo '"f/L0": {"unroll": 4}, "f/L1": {"unroll": "off"}, "f/L2": {"unroll": "full"},' >> %t/a.json
; RUN: echo '"f/L3": {"unroll": "runtime"}, "f/L4": {"unroll": "no-runtime"}, "f/L5": {"interleave": 2},' >> %t/a.json
; RUN: echo '"f/L6": {"vectorize": "off"}, "f/L7": {"vectorize": "on"}, "f/L8": {"vectorize": 8, "interleave": 1},' >> %t/a.json
; RUN: echo '"f/L9": {"unroll_and_jam": 2}, "f/L10": {"distribute": false},' >> %t/a.json
; RUN: echo '"strict/L0": {"vectorize": 4, "unroll": 2},' >> %t/a.json
; RUN: echo '"f/L11": {"unroll": 1, "vectorize": 3, "tile": 2}, "f/L12": {}, "f/L1.0": {"unroll": 2},' >> %t/a.json
; RUN: echo '"nope/L0": {"unroll": 2}, "f/M0": {"unroll": 2}}}]}' >> %t/a.json
; RUN: %opt -load-pass-plugin=%plugin -passes=irpipe-apply-loops -irpipe-advice=%t/a.json %s -S -o %t/out.ll 2> %t/err.txt
; RUN: %FileCheck %s < %t/out.ll
; RUN: %FileCheck %s --check-prefix=WARN < %t/err.txt
; RUN: grep -c irpipe: %t/err.txt | %FileCheck %s --check-prefix=WARNS
; WARNS: {{^}}7{{$}}

; CHECK-LABEL: define void @f(
; CHECK: br i1 %c0, {{.*}}, !llvm.loop [[L0:![0-9]+]]
; CHECK: br i1 %c1, {{.*}}, !llvm.loop [[L1:![0-9]+]]
; CHECK: br i1 %c2, {{.*}}, !llvm.loop [[L2:![0-9]+]]
; CHECK: br i1 %c3, {{.*}}, !llvm.loop [[L3:![0-9]+]]
; CHECK: br i1 %c4, {{.*}}, !llvm.loop [[L4:![0-9]+]]
; CHECK: br i1 %c5, {{.*}}, !llvm.loop [[L5:![0-9]+]]
; CHECK: br i1 %c6, {{.*}}, !llvm.loop [[L6:![0-9]+]]
; CHECK: br i1 %c7, {{.*}}, !llvm.loop [[L7:![0-9]+]]
; CHECK: br i1 %c8, {{.*}}, !llvm.loop [[L8:![0-9]+]]
; CHECK: br i1 %c9, {{.*}}, !llvm.loop [[L9:![0-9]+]]
; CHECK: br i1 %c10, {{.*}}, !llvm.loop [[L10:![0-9]+]]
; CHECK: br i1 %c11, label %l11, label %l12{{$}}
; f/L11's values are all bad: its loop keeps what it had (nothing).
; CHECK-LABEL: define float @strict(
; CHECK: br i1 %c, {{.*}}, !llvm.loop [[S0:![0-9]+]]
; The existing unroll count 8 of f/L0 is replaced, its mustprogress kept.
; CHECK-DAG: [[L0]] = distinct !{[[L0]], [[MP:![0-9]+]], [[U4:![0-9]+]]}
; CHECK-DAG: [[MP]] = !{!"llvm.loop.mustprogress"}
; CHECK-DAG: [[U4]] = !{!"llvm.loop.unroll.count", i32 4}
; CHECK-DAG: [[L1]] = distinct !{[[L1]], [[OFF:![0-9]+]]}
; CHECK-DAG: [[OFF]] = !{!"llvm.loop.unroll.disable"}
; CHECK-DAG: [[L2]] = distinct !{[[L2]], [[FULL:![0-9]+]]}
; CHECK-DAG: [[FULL]] = !{!"llvm.loop.unroll.full"}
; CHECK-DAG: [[L3]] = distinct !{[[L3]], [[RT:![0-9]+]]}
; CHECK-DAG: [[RT]] = !{!"llvm.loop.unroll.enable"}
; CHECK-DAG: [[L4]] = distinct !{[[L4]], [[NORT:![0-9]+]]}
; CHECK-DAG: [[NORT]] = !{!"llvm.loop.unroll.runtime.disable"}
; CHECK-DAG: [[L5]] = distinct !{[[L5]], [[IC2:![0-9]+]]}
; CHECK-DAG: [[IC2]] = !{!"llvm.loop.interleave.count", i32 2}
; f/L6 had vectorize.enable true: "off" replaces it by width 1.
; CHECK-DAG: [[L6]] = distinct !{[[L6]], [[W1:![0-9]+]]}
; CHECK-DAG: [[W1]] = !{!"llvm.loop.vectorize.width", i32 1}
; CHECK-DAG: [[L7]] = distinct !{[[L7]], [[ON:![0-9]+]]}
; CHECK-DAG: [[ON]] = !{!"llvm.loop.vectorize.enable", i1 true}
; CHECK-DAG: [[L8]] = distinct !{[[L8]], [[IC1:![0-9]+]], [[ON]], [[W8:![0-9]+]]}
; CHECK-DAG: [[IC1]] = !{!"llvm.loop.interleave.count", i32 1}
; CHECK-DAG: [[W8]] = !{!"llvm.loop.vectorize.width", i32 8}
; CHECK-DAG: [[L9]] = distinct !{[[L9]], [[UJ:![0-9]+]]}
; CHECK-DAG: [[UJ]] = !{!"llvm.loop.unroll_and_jam.count", i32 2}
; CHECK-DAG: [[L10]] = distinct !{[[L10]], [[NODIST:![0-9]+]]}
; CHECK-DAG: [[NODIST]] = !{!"llvm.loop.distribute.enable", i1 false}
; strict/L0: the unroll decision applies, the forced width is refused.
; CHECK-DAG: [[S0]] = distinct !{[[S0]], [[U2:![0-9]+]]}
; CHECK-DAG: [[U2]] = !{!"llvm.loop.unroll.count", i32 2}

; WARN-DAG: irpipe: warning: advice for loop 'f/L11': unknown decision "tile" (known: unroll, interleave, vectorize, unroll_and_jam, distribute); ignored
; WARN-DAG: irpipe: warning: advice for loop 'f/L11': "unroll": 1 is not an unroll count 2..1024, "off", "full", "runtime" or "no-runtime"; ignored
; WARN-DAG: irpipe: warning: advice for loop 'f/L11': "vectorize": 3 is not "off", "on" or a vector width 2..64 that is a power of two; ignored
; WARN-DAG: irpipe: warning: advice for loop 'f/M0': not a loop id FUNCTION/L<path> (e.g. kernel/L1.0); ignored
; WARN-DAG: irpipe: warning: advice names loop 'nope/L0', but this module does not define function 'nope' when irpipe-apply-loops runs (inlined or removed?); ignored
; WARN-DAG: irpipe: warning: advice names loop 'f/L1.0', which function 'f' does not have when irpipe-apply-loops runs (its loops: f/L0, f/L1, {{.*}}, f/L12); ignored
; WARN-DAG: irpipe: warning: loop 'strict/L0': refused "vectorize": 4: its FP reduction %s (fadd without reassoc) is strict and a forced vectorization lets LLVM reorder it (results change); the loop keeps LLVM's choice (-irpipe-allow-fp-reorder allows it)

; Forced entries LLVM did not carry out make transform-warning report them (clang: -Wpass-failed, an
; error under -Werror); the plugin's pass gate skips it in the functions it advised.
; RUN: %opt -passes=transform-warning %t/out.ll -disable-output 2>&1 | %FileCheck %s --check-prefix=LEFT
; LEFT: warning: {{.*}}loop not unrolled: the optimizer was unable to perform the requested transformation
; RUN: %opt -load-pass-plugin=%plugin -passes='irpipe-apply-loops,transform-warning' -irpipe-advice=%t/a.json %s -disable-output 2> %t/gated.txt
; RUN: not grep "loop not" %t/gated.txt

; With the user's fast-math opt-in the width is written.
; RUN: %opt -load-pass-plugin=%plugin -passes=irpipe-apply-loops -irpipe-advice=%t/a.json -irpipe-allow-fp-reorder %s -S -o - 2> %t/err2.txt | %FileCheck %s --check-prefix=FAST
; RUN: not grep refused %t/err2.txt
; FAST-LABEL: define float @strict(
; FAST: br i1 %c, {{.*}}, !llvm.loop [[S0:![0-9]+]]
; FAST-DAG: [[S0]] = distinct !{[[S0]], [[U2:![0-9]+]], [[ON:![0-9]+]], [[W4:![0-9]+]]}
; FAST-DAG: [[W4]] = !{!"llvm.loop.vectorize.width", i32 4}

; "distribute": true writes no entry on its loop and turns -enable-loop-distribute on; every other
; loop without an entry is marked false, so only the advised loop is distributed (and a failure to
; distribute it is not a clang warning).  f/L10 keeps its own (user) entry.
; RUN: echo '{"format": "irpipe.advice", "version": 2, "modules": [{"source": "*", "loops": {"f/L0": {"distribute": true}}}]}' > %t/dist.json
; RUN: %opt -load-pass-plugin=%plugin -passes=irpipe-apply-loops -irpipe-advice=%t/dist.json %s -S -o - | %FileCheck %s --check-prefix=DIST
; DIST: br i1 %c0, {{.*}}, !llvm.loop [[L0:![0-9]+]]
; DIST: br i1 %c1, {{.*}}, !llvm.loop [[L1:![0-9]+]]
; DIST: br i1 %c10, {{.*}}, !llvm.loop [[L10:![0-9]+]]
; DIST-DAG: [[L0]] = distinct !{[[L0]], [[MP:![0-9]+]], [[U8:![0-9]+]]}
; DIST-DAG: [[U8]] = !{!"llvm.loop.unroll.count", i32 8}
; DIST-DAG: [[L1]] = distinct !{[[L1]], [[NODIST:![0-9]+]]}
; DIST-DAG: [[NODIST]] = !{!"llvm.loop.distribute.enable", i1 false}
; DIST-DAG: [[L10]] = distinct !{[[L10]], [[YES:![0-9]+]]}
; DIST-DAG: [[YES]] = !{!"llvm.loop.distribute.enable", i1 true}

; A version 1 file cannot carry loops: one warning, no metadata written.
; RUN: echo '{"format": "irpipe.advice", "version": 1, "modules": [{"source": "*", "loops": {"f/L1": {"unroll": 2}}}]}' > %t/v1.json
; RUN: %opt -load-pass-plugin=%plugin -passes=irpipe-apply-loops -irpipe-advice=%t/v1.json %s -S -o %t/v1.ll 2>&1 | %FileCheck %s --check-prefix=V1
; RUN: not grep unroll.count.*i32.2 %t/v1.ll
; V1: irpipe: warning: advice file {{.*}}v1.json: "loops" needs an irpipe.advice version 2 file; per-loop decisions ignored

source_filename = "apply-loops.c"

define void @f(i64 %n) {
entry:
  br label %l0
l0:
  %i0 = phi i64 [ 0, %entry ], [ %j0, %l0 ]
  %j0 = add i64 %i0, 1
  %c0 = icmp slt i64 %j0, %n
  br i1 %c0, label %l0, label %l1, !llvm.loop !0
l1:
  %i1 = phi i64 [ 0, %l0 ], [ %j1, %l1 ]
  %j1 = add i64 %i1, 1
  %c1 = icmp slt i64 %j1, %n
  br i1 %c1, label %l1, label %l2
l2:
  %i2 = phi i64 [ 0, %l1 ], [ %j2, %l2 ]
  %j2 = add i64 %i2, 1
  %c2 = icmp slt i64 %j2, %n
  br i1 %c2, label %l2, label %l3
l3:
  %i3 = phi i64 [ 0, %l2 ], [ %j3, %l3 ]
  %j3 = add i64 %i3, 1
  %c3 = icmp slt i64 %j3, %n
  br i1 %c3, label %l3, label %l4
l4:
  %i4 = phi i64 [ 0, %l3 ], [ %j4, %l4 ]
  %j4 = add i64 %i4, 1
  %c4 = icmp slt i64 %j4, %n
  br i1 %c4, label %l4, label %l5
l5:
  %i5 = phi i64 [ 0, %l4 ], [ %j5, %l5 ]
  %j5 = add i64 %i5, 1
  %c5 = icmp slt i64 %j5, %n
  br i1 %c5, label %l5, label %l6
l6:
  %i6 = phi i64 [ 0, %l5 ], [ %j6, %l6 ]
  %j6 = add i64 %i6, 1
  %c6 = icmp slt i64 %j6, %n
  br i1 %c6, label %l6, label %l7, !llvm.loop !3
l7:
  %i7 = phi i64 [ 0, %l6 ], [ %j7, %l7 ]
  %j7 = add i64 %i7, 1
  %c7 = icmp slt i64 %j7, %n
  br i1 %c7, label %l7, label %l8
l8:
  %i8 = phi i64 [ 0, %l7 ], [ %j8, %l8 ]
  %j8 = add i64 %i8, 1
  %c8 = icmp slt i64 %j8, %n
  br i1 %c8, label %l8, label %l9
l9:
  %i9 = phi i64 [ 0, %l8 ], [ %j9, %l9 ]
  %j9 = add i64 %i9, 1
  %c9 = icmp slt i64 %j9, %n
  br i1 %c9, label %l9, label %l10
l10:
  %i10 = phi i64 [ 0, %l9 ], [ %j10, %l10 ]
  %j10 = add i64 %i10, 1
  %c10 = icmp slt i64 %j10, %n
  br i1 %c10, label %l10, label %l11, !llvm.loop !5
l11:
  %i11 = phi i64 [ 0, %l10 ], [ %j11, %l11 ]
  %j11 = add i64 %i11, 1
  %c11 = icmp slt i64 %j11, %n
  br i1 %c11, label %l11, label %l12
l12:
  %i12 = phi i64 [ 0, %l11 ], [ %j12, %l12 ]
  %j12 = add i64 %i12, 1
  %c12 = icmp slt i64 %j12, %n
  br i1 %c12, label %l12, label %exit
exit:
  ret void
}

define float @strict(ptr %a, i64 %n) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i1, %loop ]
  %s = phi float [ 0.0, %entry ], [ %s1, %loop ]
  %p = getelementptr inbounds float, ptr %a, i64 %i
  %v = load float, ptr %p
  %s1 = fadd float %s, %v
  %i1 = add nuw nsw i64 %i, 1
  %c = icmp slt i64 %i1, %n
  br i1 %c, label %loop, label %exit
exit:
  ret float %s1
}

!0 = distinct !{!0, !1, !2}
!1 = !{!"llvm.loop.mustprogress"}
!2 = !{!"llvm.loop.unroll.count", i32 8}
!3 = distinct !{!3, !4}
!4 = !{!"llvm.loop.vectorize.enable", i1 true}
!5 = distinct !{!5, !6}
!6 = !{!"llvm.loop.distribute.enable", i1 true}
