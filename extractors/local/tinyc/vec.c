double dot(const double *a, const double *b, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}
void axpy(double *y, double a, const double *x, int n) {
  for (int i = 0; i < n; i++) y[i] += a * x[i];
}
