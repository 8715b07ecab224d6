; irpipe-apply runs the module and function pipelines an advice file names; bad advice is one
; warning line each and never fails the compile.
; RUN: rm -rf %t && mkdir -p %t
; RUN: echo '{"format": "irpipe.advice", "version": 1, "modules": [{"source": "apply.c", "pipeline": "function(sroa<modify-cfg>)", "functions": {"f": "instsimplify", "nope": "dce"}}]}' > %t/good.json
; RUN: %opt -load-pass-plugin=%plugin -passes=irpipe-apply -irpipe-advice=%t/good.json %s -S -o - 2> %t/err | %FileCheck %s
; RUN: %FileCheck %s --check-prefix=NOPE < %t/err
; CHECK-LABEL: define i32 @f(
; CHECK-NOT: alloca
; CHECK: call i32 @sq(i32 %n)
; NOPE: irpipe: warning: advice names function 'nope', which this module does not define; skipped

; A pipeline that does not parse: skipped, the module is unchanged.
; RUN: echo '{"format": "irpipe.advice", "version": 1, "modules": [{"source": "*", "pipeline": "function(no-such-pass)"}]}' > %t/bad.json
; RUN: %opt -load-pass-plugin=%plugin -passes=irpipe-apply -irpipe-advice=%t/bad.json %s -S -o - 2> %t/err2 | %FileCheck %s --check-prefix=SAME
; RUN: %FileCheck %s --check-prefix=BADPIPE < %t/err2
; SAME: alloca
; BADPIPE: irpipe: warning: advice pipeline 'function(no-such-pass)' does not parse

; Missing, non-JSON and wrong-version files; a module the advice does not name; no advice at all.
; RUN: %opt -load-pass-plugin=%plugin -passes=irpipe-apply -irpipe-advice=%t/missing.json %s -S -o /dev/null 2>&1 | %FileCheck %s --check-prefix=MISSING
; MISSING: irpipe: warning: cannot read advice file {{.*}}missing.json: {{.*}}; keeping the default pipeline
; RUN: echo '{not json' > %t/junk.json
; RUN: %opt -load-pass-plugin=%plugin -passes=irpipe-apply -irpipe-advice=%t/junk.json %s -S -o /dev/null 2>&1 | %FileCheck %s --check-prefix=JUNK
; JUNK: irpipe: warning: advice file {{.*}}junk.json is not JSON
; RUN: echo '{"format": "irpipe.advice", "version": 9, "modules": []}' > %t/v9.json
; RUN: %opt -load-pass-plugin=%plugin -passes=irpipe-apply -irpipe-advice=%t/v9.json %s -S -o /dev/null 2>&1 | %FileCheck %s --check-prefix=V9
; V9: irpipe: warning: advice file {{.*}}v9.json is not an irpipe.advice version 1 or 2 file
; RUN: echo '{"format": "irpipe.advice", "version": 1, "modules": [{"source": "other.c", "pipeline": "function(sroa<modify-cfg>)"}]}' > %t/other.json
; RUN: %opt -load-pass-plugin=%plugin -passes=irpipe-apply -irpipe-advice=%t/other.json %s -S -o - | %FileCheck %s --check-prefix=SAME
; RUN: %opt -load-pass-plugin=%plugin -passes=irpipe-apply %s -S -o - | %FileCheck %s --check-prefix=SAME

source_filename = "apply.c"

define internal i32 @sq(i32 %x) {
  %m = mul i32 %x, %x
  ret i32 %m
}

define i32 @f(i32 %n) {
  %a = alloca i32
  store i32 %n, ptr %a
  %v = load i32, ptr %a
  %s = call i32 @sq(i32 %v)
  ret i32 %s
}
