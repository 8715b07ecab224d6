; irpipe-loops-print (alias irpipe-loops) names each loop FUNCTION/L<path>: top-level loops by the
; position of their header in the block list, subloops likewise within their parent; one line per
; loop with depth, blocks, the constant trip count and strict (non-reassociable) FP math, then what
; its body computes and how it touches memory (each access by its address in its innermost loop).
; RUN: %opt -load-pass-plugin=%plugin -passes=irpipe-loops-print %s -disable-output 2>&1 | %FileCheck %s
; RUN: %opt -load-pass-plugin=%plugin -passes=irpipe-loops %s -disable-output 2>&1 | %FileCheck %s

; CHECK:      irpipe: loop {"id":"order/L0","depth":1,"blocks":1,"trip_count":null,"strict_fp_reduction":false,"strict_fp_induction":false,
; CHECK-NEXT: irpipe: loop {"id":"order/L1","depth":1,"blocks":1,"trip_count":100,"strict_fp_reduction":false,"strict_fp_induction":false,
; CHECK-NEXT: irpipe: loop {"id":"nest/L0","depth":1,"blocks":6,"trip_count":null,"strict_fp_reduction":false,"strict_fp_induction":false,
; CHECK-NEXT: irpipe: loop {"id":"nest/L0.0","depth":2,"blocks":1,"trip_count":null,"strict_fp_reduction":false,"strict_fp_induction":false,
; CHECK-NEXT: irpipe: loop {"id":"nest/L0.1","depth":2,"blocks":3,"trip_count":null,"strict_fp_reduction":false,"strict_fp_induction":false,
; CHECK-NEXT: irpipe: loop {"id":"nest/L0.1.0","depth":3,"blocks":1,"trip_count":8,"strict_fp_reduction":false,"strict_fp_induction":false,
; CHECK-NEXT: irpipe: loop {"id":"strict/L0","depth":1,"blocks":1,"trip_count":null,"strict_fp_reduction":true,"strict_fp_induction":false,
; CHECK-NEXT: irpipe: loop {"id":"reassoc/L0","depth":1,"blocks":1,"trip_count":null,"strict_fp_reduction":false,"strict_fp_induction":false,
; CHECK-NEXT: irpipe: loop {"id":"ramp/L0","depth":1,"blocks":1,"trip_count":null,"strict_fp_reduction":false,"strict_fp_induction":true,
; CHECK-NEXT: irpipe: loop {"id":"gather/L0","depth":1,"blocks":1,"trip_count":null,"strict_fp_reduction":false,"strict_fp_induction":false,"instructions":14,"loads":3,"stores":1,"fp_ops":1,"int_ops":2,"calls":0,"cond_branches":1,"contiguous":1,"strided":1,"invariant":1,"indirect":1,"reductions":0,"min_access_bits":8,"max_access_bits":32}
; CHECK-NOT:  irpipe: loop

; The ids a compile uses are those at the vectorizer start of the default pipeline, where the clang
; hook prints them (-mllvm -irpipe-print-loops) and applies advice; opt's default<O3> on clang's
; unoptimized IR prints the same lines.
; RUN: rm -rf %t && mkdir -p %t
; RUN: %clang -O3 -fpass-plugin=%plugin -mllvm -irpipe-print-loops -c %S/Inputs/loops.c -o %t/loops.o 2> %t/clang.txt
; RUN: %FileCheck %s --check-prefix=CLANG < %t/clang.txt
; RUN: %clang -O3 -Xclang -disable-llvm-passes -emit-llvm -S %S/Inputs/loops.c -o %t/loops.ll
; RUN: %opt -load-pass-plugin=%plugin -passes='default<O3>' -irpipe-print-loops %t/loops.ll -disable-output 2> %t/opt.txt
; RUN: diff %t/clang.txt %t/opt.txt
; CLANG: irpipe: loop {"id":"scale/L0","depth":1,"blocks":1,"trip_count":512,"strict_fp_reduction":false,
; CLANG: irpipe: loop {"id":"dot/L0","depth":1,"blocks":1,"trip_count":null,"strict_fp_reduction":true,
; CLANG: irpipe: loop {"id":"isum/L0",
; CLANG: irpipe: loop {"id":"mm/L0","depth":1,
; CLANG: irpipe: loop {"id":"mm/L0.0","depth":2,
; CLANG: irpipe: loop {"id":"split/L0",
; CLANG: irpipe: loop {"id":"main/L0",

; No -irpipe-print-loops: nothing printed.
; RUN: %clang -O3 -fpass-plugin=%plugin -c %S/Inputs/loops.c -o %t/quiet.o 2> %t/quiet.txt
; RUN: not grep irpipe %t/quiet.txt

; -irpipe-loop-ir=DIR: the module as it is at the listing, written once per function with loops
; (DIR/<function>.ll, valid IR), and each loop's block positions in its function.
; RUN: %clang -O3 -fpass-plugin=%plugin -mllvm -irpipe-print-loops -mllvm -irpipe-loop-ir=%t/ir -c %S/Inputs/loops.c -o %t/ir.o 2> %t/ir.txt
; RUN: %FileCheck %s --check-prefix=IR < %t/ir.txt
; RUN: ls %t/ir | %FileCheck %s --check-prefix=FILES
; RUN: %opt -passes=verify %t/ir/mm.ll -disable-output
; IR: irpipe: loop {"id":"scale/L0",{{.*}}"max_access_bits":{{[0-9]+}},"block_positions":[{{[0-9]+}}]}
; IR: irpipe: loop {"id":"mm/L0",{{.*}}"block_positions":[{{[0-9]+}},{{[0-9]+}}
; IR: irpipe: loop {"id":"mm/L0.0",{{.*}}"block_positions":[
; FILES:      dot.ll
; FILES-NEXT: isum.ll
; FILES-NEXT: main.ll
; FILES-NEXT: mm.ll
; FILES-NEXT: scale.ll
; FILES-NEXT: split.ll

source_filename = "print.c"

; order/L0's header comes first in the block list although control reaches it second.
define void @order(i64 %n) {
entry:
  br label %y

x:
  %i = phi i64 [ 0, %y ], [ %i1, %x ]
  %i1 = add i64 %i, 1
  %cx = icmp slt i64 %i1, %n
  br i1 %cx, label %x, label %exit

y:
  %j = phi i64 [ 0, %entry ], [ %j1, %y ]
  %j1 = add nuw nsw i64 %j, 1
  %cy = icmp ult i64 %j1, 100
  br i1 %cy, label %y, label %x

exit:
  ret void
}

define void @nest(i64 %n) {
entry:
  br label %outer

outer:
  %i = phi i64 [ 0, %entry ], [ %i1, %outer.latch ]
  br label %first

first:
  %k = phi i64 [ 0, %outer ], [ %k1, %first ]
  %k1 = add i64 %k, 1
  %ck = icmp slt i64 %k1, %n
  br i1 %ck, label %first, label %second

second:
  %m = phi i64 [ 0, %first ], [ %m1, %second.latch ]
  br label %inner

inner:
  %q = phi i64 [ 0, %second ], [ %q1, %inner ]
  %q1 = add nuw nsw i64 %q, 1
  %cq = icmp ult i64 %q1, 8
  br i1 %cq, label %inner, label %second.latch

second.latch:
  %m1 = add i64 %m, 1
  %cm = icmp slt i64 %m1, %n
  br i1 %cm, label %second, label %outer.latch

outer.latch:
  %i1 = add i64 %i, 1
  %ci = icmp slt i64 %i1, %n
  br i1 %ci, label %outer, label %exit

exit:
  ret void
}

; A strict FP reduction (fadd without reassoc): forcing vectorization would reorder it.
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

define float @reassoc(ptr %a, i64 %n) {
entry:
  br label %loop

loop:
  %i = phi i64 [ 0, %entry ], [ %i1, %loop ]
  %s = phi float [ 0.0, %entry ], [ %s1, %loop ]
  %p = getelementptr inbounds float, ptr %a, i64 %i
  %v = load float, ptr %p
  %s1 = fadd reassoc float %s, %v
  %i1 = add nuw nsw i64 %i, 1
  %c = icmp slt i64 %i1, %n
  br i1 %c, label %loop, label %exit

exit:
  ret float %s1
}

; A strict FP induction (x += 0.5 without reassoc).
define void @ramp(ptr %a, i64 %n) {
entry:
  br label %loop

loop:
  %i = phi i64 [ 0, %entry ], [ %i1, %loop ]
  %x = phi float [ 0.0, %entry ], [ %x1, %loop ]
  %p = getelementptr inbounds float, ptr %a, i64 %i
  store float %x, ptr %p
  %x1 = fadd float %x, 5.000000e-01
  %i1 = add nuw nsw i64 %i, 1
  %c = icmp slt i64 %i1, %n
  br i1 %c, label %loop, label %exit

exit:
  ret void
}

; out[2i] = a[idx[i]] * scale[0]: idx contiguous, a indirect (a gather), scale invariant, out strided.
define void @gather(ptr %a, ptr %idx, ptr %scale, ptr %out, i64 %n) {
entry:
  br label %loop

loop:
  %i = phi i64 [ 0, %entry ], [ %i1, %loop ]
  %pi = getelementptr inbounds i8, ptr %idx, i64 %i
  %k = load i8, ptr %pi
  %kk = zext i8 %k to i64
  %pa = getelementptr inbounds float, ptr %a, i64 %kk
  %v = load float, ptr %pa
  %w = load float, ptr %scale
  %v2 = fmul float %v, %w
  %i2 = shl i64 %i, 1
  %po = getelementptr inbounds float, ptr %out, i64 %i2
  store float %v2, ptr %po
  %i1 = add nuw nsw i64 %i, 1
  %c = icmp slt i64 %i1, %n
  br i1 %c, label %loop, label %exit

exit:
  ret void
}
