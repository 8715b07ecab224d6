// A workload written for irpipe's held-out set: integer/float kernels, objects and arrays,
// strings and regular expressions, closures; prints integers only.  `mujs work.js D` divides the
// sizes by D (the count workload).
function lcg(seed) { var s = seed >>> 0; return function () { s = (s * 1103515245 + 12345) >>> 0; return s; }; }

function sieve(n) {
  var flags = new Array(n + 1), count = 0, i, j;
  for (i = 0; i <= n; i++) flags[i] = true;
  for (i = 2; i <= n; i++) if (flags[i]) { count++; for (j = i + i; j <= n; j += i) flags[j] = false; }
  return count;
}

function matmul(n) {
  var a = [], b = [], c = [], i, j, k, sum = 0;
  for (i = 0; i < n; i++) { a[i] = []; b[i] = []; c[i] = []; for (j = 0; j < n; j++) { a[i][j] = (i * 7 + j * 3) % 11; b[i][j] = (i + 2 * j) % 13; } }
  for (i = 0; i < n; i++) for (j = 0; j < n; j++) { var s = 0; for (k = 0; k < n; k++) s += a[i][k] * b[k][j]; c[i][j] = s; sum = (sum + s) % 1000003; }
  return sum;
}

function objects(n) {
  var rnd = lcg(7), list = [], i, total = 0;
  for (i = 0; i < n; i++) list.push({ id: i, key: rnd() % 100000, name: "item" + (rnd() % 997) });
  list.sort(function (x, y) { return x.key - y.key || x.id - y.id; });
  var byName = {};
  for (i = 0; i < list.length; i++) { var o = list[i]; byName[o.name] = (byName[o.name] || 0) + 1; total = (total * 31 + o.key) % 1000000007; }
  var names = Object.keys(byName).sort(), h = 0;
  for (i = 0; i < names.length; i++) h = (h * 17 + byName[names[i]] + names[i].length) % 1000000007;
  return [total, names.length, h];
}

function strings(n) {
  var rnd = lcg(11), words = [], i, text, m, re = /([a-z]+)(\d+)/g, hits = 0, sum = 0;
  var letters = "abcdefghijklmnopqrstuvwxyz";
  for (i = 0; i < n; i++) {
    var w = "", len = 3 + rnd() % 6, j;
    for (j = 0; j < len; j++) w += letters.charAt(rnd() % 26);
    words.push(w + (rnd() % 1000));
  }
  text = words.join(" ");
  while ((m = re.exec(text)) !== null) { hits++; sum = (sum + m[1].length * parseInt(m[2], 10)) % 1000003; }
  var upper = text.toUpperCase().split(" ").reverse().join("-");
  return [hits, sum, upper.length, text.replace(/[aeiou]/g, "").length];
}

function floats(n) {
  var x = 0.5, acc = 0, i;
  for (i = 1; i <= n; i++) { x = 3.7 * x * (1 - x); acc += Math.sqrt(i) * x - Math.floor(x * 10); }
  return Math.round(acc);
}

function closures(n) {
  var fs = [], i, t = 0;
  for (i = 0; i < 64; i++) fs.push((function (k) { return function (v) { return (v * k + 1) % 65521; }; })(i + 1));
  for (i = 0; i < n; i++) t = fs[i & 63](t);
  return t;
}

var div = scriptArgs.length ? Number(scriptArgs[0]) : 1;
print(sieve(Math.floor(120000 / div)));
print(matmul(Math.floor(100 / div)));
print(objects(Math.floor(30000 / div)).join(" "));
print(strings(Math.floor(4000 / div)).join(" "));
print(floats(Math.floor(800000 / div)));
print(closures(Math.floor(800000 / div)));
