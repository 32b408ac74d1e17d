// CPython support: scan for leaks when the interpreter starts to finalize, not after.
// After Py_Finalize the runtime has dropped its references to hundreds of kilobytes of objects it
// deliberately never frees, which a scan at process exit would call unreachable. At the start of
// finalization (Python's atexit callbacks) every live object of a clean program is still
// referenced, while an object leaked through a missing Py_DECREF is not.
//
// How: an audit hook (PySys_AddAuditHook, callable before Py_Initialize) waits for the first
// "cpython.run_*" event, raised once the interpreter is fully initialised and about to run the
// script, command or module; there it registers a C function with Python's atexit module. No
// Python code of the program changes, and nothing is imported that the program would not import
// (atexit is built in). The C API is looked up with dlsym, so there is no link-time dependency.
#include "python/finalize.h"

#include <dlfcn.h>

#include "base/sys.h"

namespace libleak {

namespace {

struct PyObject;
using PyCFunction = PyObject* (*)(PyObject*, PyObject*);
struct PyMethodDef {
  const char* ml_name;
  PyCFunction ml_meth;
  int ml_flags;
  const char* ml_doc;
};
constexpr int kMethNoArgs = 0x0004;

struct PythonApi {
  int (*add_audit_hook)(int (*)(const char*, PyObject*, void*), void*);
  PyObject* (*import_module)(const char*);
  PyObject* (*cfunction_new)(PyMethodDef*, PyObject*, PyObject*);
  PyObject* (*call_method)(PyObject*, const char*, const char*, ...);
  PyObject* (*build_value)(const char*, ...);
  void (*decref)(PyObject*);
  void (*err_clear)();
};
PythonApi py;
bool g_registered = false;  // only touched with the GIL held
void (*g_on_finalize)() = nullptr;

PyObject* on_python_atexit(PyObject*, PyObject*) {
  g_on_finalize();
  return py.build_value("");
}

PyMethodDef g_atexit_def = {"_libleak_scan", on_python_atexit, kMethNoArgs, nullptr};

int on_audit_event(const char* event, PyObject*, void*) {
  if (g_registered || !str_starts_with(event, "cpython.run_")) return 0;
  g_registered = true;
  PyObject* atexit_module = py.import_module("atexit");
  PyObject* fn = atexit_module ? py.cfunction_new(&g_atexit_def, nullptr, nullptr) : nullptr;
  PyObject* result = fn ? py.call_method(atexit_module, "register", "O", fn) : nullptr;
  if (!result) py.err_clear();  // never let libleak's failure become the program's exception
  if (result) py.decref(result);
  if (fn) py.decref(fn);
  if (atexit_module) py.decref(atexit_module);
  return 0;
}

template <class Fn>
bool lookup(Fn* slot, const char* name) {
  *slot = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
  return *slot != nullptr;
}

}  // namespace

void python_watch_finalize(void (*on_finalize)()) {
  // Only with the C allocator: the hook entry is allocated before Python picks its allocator,
  // and Python frees it with the allocator PYTHONMALLOC chose.
  const char* pymalloc = env_get("PYTHONMALLOC");
  if (!pymalloc || !str_eq(pymalloc, "malloc")) return;
  bool ok = lookup(&py.add_audit_hook, "PySys_AddAuditHook") && lookup(&py.import_module, "PyImport_ImportModule") &&
            lookup(&py.cfunction_new, "PyCFunction_NewEx") && lookup(&py.call_method, "PyObject_CallMethod") &&
            lookup(&py.build_value, "Py_BuildValue") && lookup(&py.decref, "Py_DecRef") &&
            lookup(&py.err_clear, "PyErr_Clear");
  g_on_finalize = on_finalize;
  if (ok) py.add_audit_hook(on_audit_event, nullptr);
}

}  // namespace libleak
