// CPython extension for the process scenarios: mp_leak(n, size) mallocs n blocks of `size` bytes
// and drops them; nothing in Python ever sees their addresses.
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>

__attribute__((noinline)) static void mp_leak_blocks(long n, long size) {
  for (long i = 0; i < n; ++i) {
    void* volatile p = malloc((size_t)size);  // MP_LEAK
    (void)p;
  }
}

static PyObject* mp_leak(PyObject* self, PyObject* args) {
  long n = 0, size = 0;
  if (!PyArg_ParseTuple(args, "ll", &n, &size)) return NULL;
  mp_leak_blocks(n, size);
  Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"mp_leak", mp_leak, METH_VARARGS, "leak n malloc'd blocks of size bytes"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "proc_mpext", NULL, -1, methods};

PyMODINIT_FUNC PyInit_proc_mpext(void) { return PyModule_Create(&module); }
