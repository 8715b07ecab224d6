; `irpipe features` prints CompilerGym's InstCount and Autophase of a .ll or .bc file.
; RUN: irpipe features %s | %FileCheck %s
; RUN: irpipe features %s --json --per-function | %FileCheck --check-prefix=JSON %s
; RUN: llvm-as-22 %s -o %t.bc
; RUN: irpipe features %t.bc | %FileCheck %s
; RUN: not irpipe features %t.missing 2>&1 | %FileCheck --check-prefix=MISSING %s
; RUN: echo "define i32 @f( {" > %t.bad.ll
; RUN: not irpipe features %t.bad.ll 2>&1 | %FileCheck --check-prefix=BAD %s
; RUN: not irpipe features %s --max-module-mb 0.0001 2>&1 | %FileCheck --check-prefix=BIG %s

; CHECK: # InstCount
; CHECK-NEXT: TotalInstsCount {{ +}}6
; CHECK-NEXT: TotalBlocksCount {{ +}}3
; CHECK-NEXT: TotalFuncsCount {{ +}}2
; CHECK-NEXT: RetCount {{ +}}1
; CHECK-NEXT: BrCount {{ +}}2
; CHECK: # Autophase
; CHECK: NumEdges {{ +}}3
; CHECK: testUnary {{ +}}1

; JSON: "InstCount": {
; JSON-NEXT: "TotalInstsCount": 6,
; JSON: "Autophase": {
; JSON-NEXT: "BBNumArgsHi": 0,
; JSON: "functions": {
; JSON-NEXT: "pick": {

; MISSING: irpipe features: error: {{.*}}missing: cannot read
; BAD: irpipe features: error: {{.*}}invalid IR text: line {{[0-9]+}}: expected type; supported: LLVM 22
; BIG: error: {{.*}}over the 0 MiB limit; refusing it

declare i32 @ext(i32)

define i32 @pick(i1 %c, ptr %p) {
entry:
  br i1 %c, label %a, label %b
a:
  %v = load i32, ptr %p
  br label %b
b:
  %r = phi i32 [ 0, %entry ], [ %v, %a ]
  %s = call i32 @ext(i32 %r)
  ret i32 %s
}
