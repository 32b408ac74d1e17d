// A CPython extension that runs Python code the interpreter did not start itself:
// call_in_c_thread(f) calls f from a new pthread that registers with PyGILState_Ensure (the
// embedding pattern of C libraries with callbacks); run_in_subinterpreter(source) runs source in a
// new sub-interpreter of the calling thread (Py_NewInterpreter, ended before returning).
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>

static void* thread_main(void* fn) {
  PyGILState_STATE gil = PyGILState_Ensure();
  PyObject* result = PyObject_CallObject((PyObject*)fn, NULL);
  if (result) Py_DECREF(result);
  else PyErr_Print();
  PyGILState_Release(gil);
  return NULL;
}

static PyObject* call_in_c_thread(PyObject* self, PyObject* fn) {
  (void)self;
  pthread_t thread;
  int rc;
  Py_INCREF(fn);
  Py_BEGIN_ALLOW_THREADS
  rc = pthread_create(&thread, NULL, thread_main, fn);
  if (rc == 0) pthread_join(thread, NULL);
  Py_END_ALLOW_THREADS
  Py_DECREF(fn);
  if (rc) return PyErr_Format(PyExc_OSError, "pthread_create failed: %d", rc);
  Py_RETURN_NONE;
}

static PyObject* run_in_subinterpreter(PyObject* self, PyObject* source) {
  (void)self;
  const char* text = PyUnicode_AsUTF8(source);
  if (!text) return NULL;
  PyThreadState* outer = PyThreadState_Get();
  PyThreadState* sub = Py_NewInterpreter();
  if (!sub) {
    PyThreadState_Swap(outer);
    return PyErr_Format(PyExc_RuntimeError, "Py_NewInterpreter failed");
  }
  int rc = PyRun_SimpleString(text);
  Py_EndInterpreter(sub);
  PyThreadState_Swap(outer);
  if (rc) return PyErr_Format(PyExc_RuntimeError, "the sub-interpreter's code raised");
  Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"call_in_c_thread", call_in_c_thread, METH_O, "call f() from a thread started in C"},
    {"run_in_subinterpreter", run_in_subinterpreter, METH_O, "run source in a new sub-interpreter"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "pyembedext", NULL, -1, methods};

PyMODINIT_FUNC PyInit_pyembedext(void) { return PyModule_Create(&module); }
