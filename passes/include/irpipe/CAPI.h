/*===- CAPI.h - The C ABI of libIRPipeAnalysis, loaded by Python (ctypes) ---===*
 *
 * Every function that can fail returns 0 on success, nonzero on failure and
 * then sets *error to a malloc'd message (free it with irpipe_free).  Buffers
 * returned through out-pointers are malloc'd too.  Bump IRPIPE_ABI_VERSION
 * whenever a signature or a layout changes; irpipe/llvm/native.py checks it.
 *
 *===----------------------------------------------------------------------===*/
#ifndef IRPIPE_CAPI_H
#define IRPIPE_CAPI_H

#include <stddef.h>
#include <stdint.h>

#define IRPIPE_ABI_VERSION 6

#ifdef __cplusplus
extern "C" {
#endif

typedef struct irpipe_module irpipe_module;
typedef struct irpipe_graph irpipe_graph;

int irpipe_abi_version(void);
/* The LLVM version this library was built against and runs with. */
const char *irpipe_llvm_version(void);
void irpipe_free(void *ptr);

/* Feature names, '\n'-separated, in CompilerGym's order. */
const char *irpipe_instcount_names(void);
const char *irpipe_autophase_names(void);

/* Parse bitcode or IR text and run the verifier. */
int irpipe_module_parse(const char *data, size_t size, const char *name,
                        irpipe_module **out, char **error);
void irpipe_module_free(irpipe_module *module);
/* Defined (non-declaration) functions, in module order. */
int64_t irpipe_module_function_count(const irpipe_module *module);
const char *irpipe_module_function_name(const irpipe_module *module,
                                        int64_t index);
int64_t irpipe_module_instruction_count(const irpipe_module *module);
/* The module printed as LLVM IR text (as `llvm-dis` prints it), NUL-terminated. */
int irpipe_module_print(const irpipe_module *module, char **text, size_t *size,
                        char **error);

/* function < 0: the whole module; else the index of a defined function. */
int irpipe_instcount(const irpipe_module *module, int64_t function,
                     int64_t *out70, char **error);
int irpipe_autophase(const irpipe_module *module, int64_t function,
                     int64_t *out56, char **error);

/* A module holding only the given defined function (others become
 * declarations), as bitcode. */
int irpipe_split_function(const irpipe_module *module, int64_t function,
                          char **bitcode, size_t *size, char **error);

#define IRPIPE_GRAPH_TYPES 1
#define IRPIPE_GRAPH_FULL_TEXT 2
int irpipe_graph_build(const irpipe_module *module, int64_t function,
                       int flags, irpipe_graph **out, char **error);
void irpipe_graph_free(irpipe_graph *graph);
/* sizes[0..5) = nodes, edges, texts, text bytes, functions; sizes[5] = full
 * text bytes (0 without IRPIPE_GRAPH_FULL_TEXT); sizes[6] = function name
 * bytes. */
void irpipe_graph_sizes(const irpipe_graph *graph, int64_t *sizes7);
/* Copy the arrays out.  Strings are written '\0'-terminated back to back. */
void irpipe_graph_export(const irpipe_graph *graph, uint8_t *node_type,
                         int32_t *node_text, int32_t *node_function,
                         int32_t *node_block, int32_t *edge_source,
                         int32_t *edge_target, uint8_t *edge_flow,
                         int32_t *edge_position, char *texts,
                         char *full_texts, char *functions);

/* Run a textual new-PM pipeline on a copy of the module (the module is not
 * changed) and measure it.  Flags select the outputs; buffers not asked for
 * are left NULL. */
#define IRPIPE_EVAL_OBJECT 1
#define IRPIPE_EVAL_ASSEMBLY 2
#define IRPIPE_EVAL_BITCODE 4
#define IRPIPE_EVAL_NO_VERIFY 8
#define IRPIPE_EVAL_KEEP_OPTNONE 16
#define IRPIPE_EVAL_PER_FUNCTION 32 /* fill per_function (see below) */
#define IRPIPE_EVAL_DIGEST 64       /* fill digest (see below) */
typedef struct {
  int64_t instructions;
  int64_t text_bytes;   /* -1 unless IRPIPE_EVAL_OBJECT (or codegen_skipped) */
  int64_t object_bytes; /* -1 unless IRPIPE_EVAL_OBJECT (or codegen_skipped) */
  double opt_seconds;
  double codegen_seconds;
  /* With IRPIPE_EVAL_DIGEST: SHA-256 of the output bitcode, its code triple
   * and cpu -- everything the object depends on. */
  uint8_t digest[32];
  /* 1: the digest was among the known ones, so no object was built (the
   * caller has measured this output already); text_bytes, object_bytes and
   * per_function's code bytes are -1. */
  int32_t codegen_skipped;
} irpipe_eval_result;
/* triple and cpu: NULL or "" keep the module's target (see Pipeline.h).
 * functions: functions_size bytes of NUL-terminated (name, function pipeline)
 * pairs, run after the module pipeline (NULL/0: none).  per_function, with
 * IRPIPE_EVAL_PER_FUNCTION: NUL-terminated (name, instructions, code bytes)
 * triples of every defined function, in module order.  known: known_count
 * 32-byte digests back to back (with IRPIPE_EVAL_DIGEST; NULL/0: none). */
int irpipe_evaluate(const irpipe_module *module, const char *pipeline,
                    const char *functions, size_t functions_size,
                    int flags, const char *triple, const char *cpu,
                    const uint8_t *known, size_t known_count,
                    irpipe_eval_result *result, char **bitcode,
                    size_t *bitcode_size, char **assembly,
                    size_t *assembly_size, char **per_function,
                    size_t *per_function_size, char **error);

#ifdef __cplusplus
}
#endif

#endif /* IRPIPE_CAPI_H */
