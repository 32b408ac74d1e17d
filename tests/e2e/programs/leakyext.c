// A CPython extension with known leaks: leak_double loses one malloc'd double per call,
// leak_ref leaks a new reference to an int object per call, keep appends a new object
// (from new_object) to a list owned by the module's C state, never released.
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <string.h>

static PyObject* g_kept;  // reachable from this module's data segment for the whole run

static PyObject* leak_double(PyObject* self, PyObject* args) {
  (void)self, (void)args;
  double* d = malloc(sizeof(double));  // LEAK_DOUBLE
  *d = 1.0;
  Py_RETURN_NONE;
}

static PyObject* leak_ref(PyObject* self, PyObject* args) {
  (void)self, (void)args;
  PyObject* n = PyLong_FromLong(1000);  // LEAK_REF: never decref'd
  (void)n;
  Py_RETURN_NONE;
}

static PyObject* new_object(void) {
  return PyBytes_FromStringAndSize(NULL, 200);  // NEW_OBJECT
}

static PyObject* keep(PyObject* self, PyObject* args) {
  (void)self, (void)args;
  if (!g_kept && !(g_kept = PyList_New(0))) return NULL;
  PyObject* o = new_object();
  if (!o || PyList_Append(g_kept, o) < 0) return NULL;
  Py_DECREF(o);
  Py_RETURN_NONE;
}

// Zeroes the dead stack below the interpreter's frame, so no stale copy of a lost pointer
// left there by earlier calls survives until the exit scan.
static PyObject* clobber_stack(PyObject* self, PyObject* args) {
  (void)self, (void)args;
  volatile char buf[64 * 1024];
  memset((char*)buf, 0, sizeof buf);
  Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"clobber_stack", clobber_stack, METH_NOARGS, "zero 64 KiB of dead stack"},
    {"leak_double", leak_double, METH_NOARGS, "leak one malloc'd double"},
    {"leak_ref", leak_ref, METH_NOARGS, "leak a reference to int 1000"},
    {"keep", keep, METH_NOARGS, "keep a new 200-byte bytes object forever"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "leakyext", NULL, -1, methods};

PyMODINIT_FUNC PyInit_leakyext(void) { return PyModule_Create(&module); }
