/* A small stack-based bytecode virtual machine (switch dispatch, 64-bit
 * wrapping integer values, call frames with locals, a flat data memory).
 * The program assembles its own bytecode: a prime sieve, Collatz step
 * counting, recursive Fibonacci, an integer matrix product and a hash
 * loop, run for several rounds.
 * Usage: stackvm [rounds] [scale%]   (written for irpipe's benchmark suite) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    OP_HALT, OP_PUSH, OP_POP, OP_DUP, OP_SWAP, OP_OVER,
    OP_LOAD, OP_STORE, OP_INC, OP_GLOAD, OP_GSTORE,
    OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD,
    OP_AND, OP_OR, OP_XOR, OP_SHL, OP_SHR,
    OP_LT, OP_LE, OP_EQ, OP_NE,
    OP_JMP, OP_JZ, OP_JNZ, OP_CALL, OP_RET, OP_EMIT
};

#define NLOCALS 8
#define MAXDEPTH 4096
#define STACKSZ 4096
#define MEMSZ (1 << 20)
#define CODESZ 8192

/* ------------------------------------------------------------ assembler */
static int32_t code[CODESZ];
static int ncode;
static int label_pos[256];
static int nlabels;
static struct {
    int at, label;
} fix[1024];
static int nfix;

static void emit0(int op) { code[ncode++] = op; }
static void emit1(int op, int32_t a) { code[ncode++] = op; code[ncode++] = a; }
static int new_label(void) { label_pos[nlabels] = -1; return nlabels++; }
static void here(int l) { label_pos[l] = ncode; }
static void jump(int op, int l)
{
    code[ncode++] = op;
    fix[nfix].at = ncode;
    fix[nfix].label = l;
    nfix++;
    code[ncode++] = 0;
}
static void call(int l, int nargs)
{
    jump(OP_CALL, l);
    code[ncode++] = nargs;
}
static void link_labels(void)
{
    for (int i = 0; i < nfix; i++)
        code[fix[i].at] = label_pos[fix[i].label];
}

/* ------------------------------------------------------------ machine */
typedef struct {
    int ret_pc;
    int sp_base;
} frame;

static int64_t stack[STACKSZ];
static int64_t locals[MAXDEPTH * NLOCALS];
static frame frames[MAXDEPTH];
static int64_t mem[MEMSZ];

static uint64_t out_hash;
static int64_t emitted[64];
static int nemitted;
static uint64_t steps_executed;

static int64_t wrap(uint64_t v) { return (int64_t)v; }

static int run(int entry)
{
    int pc = entry, sp = 0, fp = 0;
    int64_t *loc = locals;
    uint64_t steps = 0;
    for (;;) {
        int op = code[pc++];
        steps++;
        switch (op) {
        case OP_HALT:
            steps_executed += steps;
            return 0;
        case OP_PUSH: stack[sp++] = code[pc++]; break;
        case OP_POP: sp--; break;
        case OP_DUP: stack[sp] = stack[sp - 1]; sp++; break;
        case OP_SWAP: {
            int64_t t = stack[sp - 1];
            stack[sp - 1] = stack[sp - 2];
            stack[sp - 2] = t;
            break;
        }
        case OP_OVER: stack[sp] = stack[sp - 2]; sp++; break;
        case OP_LOAD: stack[sp++] = loc[code[pc++]]; break;
        case OP_STORE: loc[code[pc++]] = stack[--sp]; break;
        case OP_INC: {
            int slot = code[pc++];
            loc[slot] = wrap((uint64_t)loc[slot] + (uint64_t)(int64_t)code[pc++]);
            break;
        }
        case OP_GLOAD: {
            uint64_t a = (uint64_t)stack[sp - 1] & (MEMSZ - 1);
            stack[sp - 1] = mem[a];
            break;
        }
        case OP_GSTORE: { /* ... addr value -> ... */
            uint64_t a = (uint64_t)stack[sp - 2] & (MEMSZ - 1);
            mem[a] = stack[sp - 1];
            sp -= 2;
            break;
        }
#define BIN(expr)                        \
    {                                    \
        int64_t b = stack[--sp];         \
        int64_t a = stack[sp - 1];       \
        stack[sp - 1] = (expr);          \
        break;                           \
    }
        case OP_ADD: BIN(wrap((uint64_t)a + (uint64_t)b))
        case OP_SUB: BIN(wrap((uint64_t)a - (uint64_t)b))
        case OP_MUL: BIN(wrap((uint64_t)a * (uint64_t)b))
        case OP_DIV: BIN(b == 0 ? 0 : b == -1 ? wrap(0u - (uint64_t)a) : a / b)
        case OP_MOD: BIN(b == 0 || b == -1 ? 0 : a % b)
        case OP_AND: BIN(a & b)
        case OP_OR: BIN(a | b)
        case OP_XOR: BIN(a ^ b)
        case OP_SHL: BIN(wrap((uint64_t)a << (b & 63)))
        case OP_SHR: BIN(wrap((uint64_t)a >> (b & 63)))
        case OP_LT: BIN(a < b)
        case OP_LE: BIN(a <= b)
        case OP_EQ: BIN(a == b)
        case OP_NE: BIN(a != b)
#undef BIN
        case OP_JMP: pc = code[pc]; break;
        case OP_JZ:
            if (stack[--sp] == 0)
                pc = code[pc];
            else
                pc++;
            break;
        case OP_JNZ:
            if (stack[--sp] != 0)
                pc = code[pc];
            else
                pc++;
            break;
        case OP_CALL: {
            int target = code[pc], nargs = code[pc + 1];
            if (fp + 1 >= MAXDEPTH) {
                fprintf(stderr, "call stack overflow\n");
                return -1;
            }
            fp++;
            frames[fp].ret_pc = pc + 2;
            loc = locals + (size_t)fp * NLOCALS;
            for (int i = nargs - 1; i >= 0; i--)
                loc[i] = stack[--sp];
            for (int i = nargs; i < NLOCALS; i++)
                loc[i] = 0;
            frames[fp].sp_base = sp;
            pc = target;
            break;
        }
        case OP_RET: {
            int64_t v = stack[sp - 1];
            sp = frames[fp].sp_base;
            pc = frames[fp].ret_pc;
            fp--;
            loc = locals + (size_t)fp * NLOCALS;
            stack[sp++] = v;
            break;
        }
        case OP_EMIT: {
            int64_t v = stack[--sp];
            out_hash = (out_hash ^ (uint64_t)v) * 0x100000001B3ull;
            if (nemitted < 64)
                emitted[nemitted++] = v;
            break;
        }
        default:
            fprintf(stderr, "bad opcode %d at %d\n", op, pc - 1);
            return -1;
        }
    }
}

/* ------------------------------------------------------------ programs */
/* sieve(n): count primes below n using mem[0..n) */
static void gen_sieve(int entry)
{
    enum { N, I, J, CNT };
    int l1 = new_label(), l1e = new_label(), l2 = new_label(), l2e = new_label(),
        l2n = new_label(), l3 = new_label(), l4 = new_label(), l4e = new_label();
    here(entry);
    emit1(OP_PUSH, 0); emit1(OP_STORE, I);
    here(l1);
    emit1(OP_LOAD, I); emit1(OP_LOAD, N); emit0(OP_LT); jump(OP_JZ, l1e);
    emit1(OP_LOAD, I); emit1(OP_PUSH, 1); emit0(OP_GSTORE);
    emit1(OP_INC, I); code[ncode++] = 1; jump(OP_JMP, l1);
    here(l1e);
    emit1(OP_PUSH, 2); emit1(OP_STORE, I);
    here(l2);
    emit1(OP_LOAD, I); emit0(OP_DUP); emit0(OP_MUL); emit1(OP_LOAD, N);
    emit0(OP_LT); jump(OP_JZ, l2e);
    emit1(OP_LOAD, I); emit0(OP_GLOAD); jump(OP_JZ, l2n);
    emit1(OP_LOAD, I); emit0(OP_DUP); emit0(OP_MUL); emit1(OP_STORE, J);
    here(l3);
    emit1(OP_LOAD, J); emit1(OP_LOAD, N); emit0(OP_LT); jump(OP_JZ, l2n);
    emit1(OP_LOAD, J); emit1(OP_PUSH, 0); emit0(OP_GSTORE);
    emit1(OP_LOAD, J); emit1(OP_LOAD, I); emit0(OP_ADD); emit1(OP_STORE, J);
    jump(OP_JMP, l3);
    here(l2n);
    emit1(OP_INC, I); code[ncode++] = 1; jump(OP_JMP, l2);
    here(l2e);
    emit1(OP_PUSH, 0); emit1(OP_STORE, CNT);
    emit1(OP_PUSH, 2); emit1(OP_STORE, I);
    here(l4);
    emit1(OP_LOAD, I); emit1(OP_LOAD, N); emit0(OP_LT); jump(OP_JZ, l4e);
    emit1(OP_LOAD, CNT); emit1(OP_LOAD, I); emit0(OP_GLOAD); emit0(OP_ADD);
    emit1(OP_STORE, CNT);
    emit1(OP_INC, I); code[ncode++] = 1; jump(OP_JMP, l4);
    here(l4e);
    emit1(OP_LOAD, CNT); emit0(OP_RET);
}

/* collatz(m): total steps to reach 1 for all starts 1..m */
static void gen_collatz(int entry)
{
    enum { M, I, X, S };
    int c1 = new_label(), c1e = new_label(), c2 = new_label(), c2e = new_label(),
        ev = new_label(), nx = new_label();
    here(entry);
    emit1(OP_PUSH, 1); emit1(OP_STORE, I);
    here(c1);
    emit1(OP_LOAD, I); emit1(OP_LOAD, M); emit0(OP_LE); jump(OP_JZ, c1e);
    emit1(OP_LOAD, I); emit1(OP_STORE, X);
    here(c2);
    emit1(OP_LOAD, X); emit1(OP_PUSH, 1); emit0(OP_NE); jump(OP_JZ, c2e);
    emit1(OP_LOAD, X); emit1(OP_PUSH, 1); emit0(OP_AND); jump(OP_JZ, ev);
    emit1(OP_LOAD, X); emit1(OP_PUSH, 3); emit0(OP_MUL); emit1(OP_PUSH, 1);
    emit0(OP_ADD); emit1(OP_STORE, X); jump(OP_JMP, nx);
    here(ev);
    emit1(OP_LOAD, X); emit1(OP_PUSH, 1); emit0(OP_SHR); emit1(OP_STORE, X);
    here(nx);
    emit1(OP_INC, S); code[ncode++] = 1; jump(OP_JMP, c2);
    here(c2e);
    emit1(OP_INC, I); code[ncode++] = 1; jump(OP_JMP, c1);
    here(c1e);
    emit1(OP_LOAD, S); emit0(OP_RET);
}

/* fib(n): naive recursion */
static void gen_fib(int entry)
{
    int big = new_label();
    here(entry);
    emit1(OP_LOAD, 0); emit1(OP_PUSH, 2); emit0(OP_LT); jump(OP_JZ, big);
    emit1(OP_LOAD, 0); emit0(OP_RET);
    here(big);
    emit1(OP_LOAD, 0); emit1(OP_PUSH, 1); emit0(OP_SUB); call(entry, 1);
    emit1(OP_LOAD, 0); emit1(OP_PUSH, 2); emit0(OP_SUB); call(entry, 1);
    emit0(OP_ADD); emit0(OP_RET);
}

/* matmul(n, seed): A,B filled by an LCG at mem[0..), mem[n*n..);
 * C = A*B at mem[2n*n..); returns sum of C[k]*(k+1) */
static void gen_matmul(int entry)
{
    enum { N, SEED, I, J, K, ACC, NN, T };
    int f1 = new_label(), f1e = new_label(), li = new_label(), lie = new_label(),
        lj = new_label(), lje = new_label(), lk = new_label(), lke = new_label(),
        s1 = new_label(), s1e = new_label();
    here(entry);
    emit1(OP_LOAD, N); emit0(OP_DUP); emit0(OP_MUL); emit1(OP_STORE, NN);
    /* fill 2*n*n cells */
    emit1(OP_PUSH, 0); emit1(OP_STORE, I);
    here(f1);
    emit1(OP_LOAD, I); emit1(OP_LOAD, NN); emit1(OP_PUSH, 2); emit0(OP_MUL);
    emit0(OP_LT); jump(OP_JZ, f1e);
    emit1(OP_LOAD, SEED); emit1(OP_PUSH, 1103515245); emit0(OP_MUL);
    emit1(OP_PUSH, 12345); emit0(OP_ADD); emit1(OP_PUSH, 0x7FFFFFFF); emit0(OP_AND);
    emit1(OP_STORE, SEED);
    emit1(OP_LOAD, I); emit1(OP_LOAD, SEED); emit1(OP_PUSH, 16); emit0(OP_SHR);
    emit1(OP_PUSH, 201); emit0(OP_MOD); emit1(OP_PUSH, 100); emit0(OP_SUB);
    emit0(OP_GSTORE);
    emit1(OP_INC, I); code[ncode++] = 1; jump(OP_JMP, f1);
    here(f1e);
    /* triple loop */
    emit1(OP_PUSH, 0); emit1(OP_STORE, I);
    here(li);
    emit1(OP_LOAD, I); emit1(OP_LOAD, N); emit0(OP_LT); jump(OP_JZ, lie);
    emit1(OP_PUSH, 0); emit1(OP_STORE, J);
    here(lj);
    emit1(OP_LOAD, J); emit1(OP_LOAD, N); emit0(OP_LT); jump(OP_JZ, lje);
    emit1(OP_PUSH, 0); emit1(OP_STORE, ACC);
    emit1(OP_PUSH, 0); emit1(OP_STORE, K);
    here(lk);
    emit1(OP_LOAD, K); emit1(OP_LOAD, N); emit0(OP_LT); jump(OP_JZ, lke);
    /* acc += A[i*n+k] * B[k*n+j] */
    emit1(OP_LOAD, I); emit1(OP_LOAD, N); emit0(OP_MUL); emit1(OP_LOAD, K);
    emit0(OP_ADD); emit0(OP_GLOAD);
    emit1(OP_LOAD, K); emit1(OP_LOAD, N); emit0(OP_MUL); emit1(OP_LOAD, J);
    emit0(OP_ADD); emit1(OP_LOAD, NN); emit0(OP_ADD); emit0(OP_GLOAD);
    emit0(OP_MUL); emit1(OP_LOAD, ACC); emit0(OP_ADD); emit1(OP_STORE, ACC);
    emit1(OP_INC, K); code[ncode++] = 1; jump(OP_JMP, lk);
    here(lke);
    /* C[i*n+j] = acc */
    emit1(OP_LOAD, I); emit1(OP_LOAD, N); emit0(OP_MUL); emit1(OP_LOAD, J);
    emit0(OP_ADD); emit1(OP_LOAD, NN); emit0(OP_DUP); emit0(OP_ADD); emit0(OP_ADD);
    emit1(OP_LOAD, ACC); emit0(OP_GSTORE);
    emit1(OP_INC, J); code[ncode++] = 1; jump(OP_JMP, lj);
    here(lje);
    emit1(OP_INC, I); code[ncode++] = 1; jump(OP_JMP, li);
    here(lie);
    /* checksum */
    emit1(OP_PUSH, 0); emit1(OP_STORE, T);
    emit1(OP_PUSH, 0); emit1(OP_STORE, I);
    here(s1);
    emit1(OP_LOAD, I); emit1(OP_LOAD, NN); emit0(OP_LT); jump(OP_JZ, s1e);
    emit1(OP_LOAD, I); emit1(OP_LOAD, NN); emit0(OP_DUP); emit0(OP_ADD);
    emit0(OP_ADD); emit0(OP_GLOAD);
    emit1(OP_LOAD, I); emit1(OP_PUSH, 1); emit0(OP_ADD); emit0(OP_MUL);
    emit1(OP_LOAD, T); emit0(OP_ADD); emit1(OP_STORE, T);
    emit1(OP_INC, I); code[ncode++] = 1; jump(OP_JMP, s1);
    here(s1e);
    emit1(OP_LOAD, T); emit0(OP_RET);
}

/* hashloop(count, x): x = ((x ^ (x >> 29)) * K + i) with xor-shift mixing */
static void gen_hashloop(int entry)
{
    enum { C, X, I };
    int l = new_label(), le = new_label();
    here(entry);
    here(l);
    emit1(OP_LOAD, I); emit1(OP_LOAD, C); emit0(OP_LT); jump(OP_JZ, le);
    emit1(OP_LOAD, X); emit0(OP_DUP); emit1(OP_PUSH, 29); emit0(OP_SHR);
    emit0(OP_XOR); emit1(OP_PUSH, 0x5BD1E995); emit0(OP_MUL);
    emit1(OP_LOAD, I); emit0(OP_ADD);
    emit0(OP_DUP); emit1(OP_PUSH, 13); emit0(OP_SHL); emit0(OP_XOR);
    emit0(OP_DUP); emit1(OP_PUSH, 1000003); emit0(OP_MOD); emit0(OP_ADD);
    emit1(OP_STORE, X);
    emit1(OP_INC, I); code[ncode++] = 1; jump(OP_JMP, l);
    here(le);
    emit1(OP_LOAD, X); emit0(OP_RET);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 20;
    int scale = argc > 2 ? atoi(argv[2]) : 100;
    if (rounds < 1 || rounds > 100000 || scale < 1 || scale > 500) {
        fprintf(stderr, "usage: stackvm [rounds>=1] [scale 1..500]\n");
        return 1;
    }
    int fibbase = scale >= 100 ? 20 : 12;
    int l_main = new_label(), l_sieve = new_label(), l_coll = new_label(),
        l_fib = new_label(), l_mm = new_label(), l_hash = new_label();
    int lr = new_label(), lre = new_label();
    /* main: for r in 0..rounds: emit sieve(1500*scale + 1000r),
     * collatz(200*scale + r), fib(fibbase + r%4), matmul(24, r),
     * hashloop(2000*scale, r) */
    enum { R, RN };
    here(l_main);
    emit1(OP_PUSH, rounds); emit1(OP_STORE, RN);
    here(lr);
    emit1(OP_LOAD, R); emit1(OP_LOAD, RN); emit0(OP_LT); jump(OP_JZ, lre);
    emit1(OP_LOAD, R); emit1(OP_PUSH, 1000); emit0(OP_MUL);
    emit1(OP_PUSH, 1500 * scale); emit0(OP_ADD);
    call(l_sieve, 1); emit0(OP_EMIT);
    emit1(OP_LOAD, R); emit1(OP_PUSH, 200 * scale); emit0(OP_ADD);
    call(l_coll, 1); emit0(OP_EMIT);
    emit1(OP_LOAD, R); emit1(OP_PUSH, 4); emit0(OP_MOD); emit1(OP_PUSH, fibbase);
    emit0(OP_ADD); call(l_fib, 1); emit0(OP_EMIT);
    emit1(OP_PUSH, 24); emit1(OP_LOAD, R); call(l_mm, 2); emit0(OP_EMIT);
    emit1(OP_PUSH, 2000 * scale); emit1(OP_LOAD, R);
    call(l_hash, 2); emit0(OP_EMIT);
    emit1(OP_INC, R); code[ncode++] = 1; jump(OP_JMP, lr);
    here(lre);
    emit0(OP_HALT);
    gen_sieve(l_sieve);
    gen_collatz(l_coll);
    gen_fib(l_fib);
    gen_matmul(l_mm);
    gen_hashloop(l_hash);
    link_labels();

    memset(locals, 0, sizeof locals);
    if (run(label_pos[l_main]) != 0)
        return 1;
    printf("rounds %d scale %d, bytecode %d words, %llu instructions executed\n",
           rounds, scale, ncode, (unsigned long long)steps_executed);
    for (int i = 0; i < nemitted && i < 10; i++)
        printf("result %d: %lld\n", i, (long long)emitted[i]);
    printf("output hash %016llx\n", (unsigned long long)out_hash);
    return 0;
}
