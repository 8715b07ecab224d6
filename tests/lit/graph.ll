; `irpipe graph` builds the ProGraML-style graph of a module or one function.
; RUN: irpipe graph %s | %FileCheck %s
; RUN: irpipe graph %s --no-types --function sq --json | %FileCheck --check-prefix=FN %s
; RUN: irpipe graph %s --dot %t.dot
; RUN: filecheck --input-file %t.dot --check-prefix=DOT %s
; RUN: irpipe graph %s --out %t.pt
; RUN: python -c "import sys, torch; g = torch.load(sys.argv[1], weights_only=True); print(len(g['node_type']), g['texts'][0])" %t.pt | %FileCheck --check-prefix=PT %s
; RUN: not irpipe graph %s --function nope 2>&1 | %FileCheck --check-prefix=NOFN %s

; By hand: 4 instructions + the root + one node for the declaration @use; variables %x %m;
; constant i32 4; type i32.  Control 1 + 1; data: mul 2, ret 1, %m defined 1, call arg 1;
; call: root <-> each function and @use (6), call <-> @use (2); type: 3.
; CHECK: nodes=10 edges=18 instruction_nodes=6 variable_nodes=2 constant_nodes=1 type_nodes=1
; CHECK-SAME: control_edges=2 data_edges=5 call_edges=8 type_edges=3 functions=2

; FN: "instruction_nodes": 3,
; FN: "type_nodes": 0,
; FN: "call_edges": 2,

; DOT: digraph programl {
; DOT: [shape=box, label="%m = mul i32 %x, %x"];
; DOT: [shape=ellipse, label="i32 %x"];
; DOT: [color=green, label=0];

; PT: 10 [external]
; NOFN: error: {{.*}}no defined function 'nope' (defined: sq, twice)

declare void @use(i32)

define i32 @sq(i32 %x) {
  %m = mul i32 %x, %x
  ret i32 %m
}

define void @twice() {
  call void @use(i32 4)
  ret void
}
