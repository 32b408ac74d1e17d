/* Prints one row of src/preload/python/layouts.h: the offsets and constants libleak needs to read
 * the CPython version whose headers this is compiled against (with -DPy_BUILD_CORE, which exposes
 * the interpreter's internal frame structs). generate.sh runs it for every installed version;
 * tests/e2e/test_python_layouts.py recompiles it and checks the checked-in rows match exactly. */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#if PY_VERSION_HEX >= 0x030B0000
#include <internal/pycore_frame.h>
typedef _PyInterpreterFrame Frame;
#else
#include <frameobject.h>
typedef PyFrameObject Frame;
#endif

/* Bit position of the single bit a bitfield assignment sets in the 32-bit unicode state word. */
#define STATE_BIT(field)                                                             \
  ({                                                                                 \
    PyASCIIObject o;                                                                 \
    unsigned int word;                                                               \
    memset(&o, 0, sizeof o);                                                         \
    o.state.field = 1;                                                               \
    memcpy(&word, (char*)&o + offsetof(PyASCIIObject, state), sizeof word);          \
    __builtin_ctz(word);                                                             \
  })

/* Where a thread's innermost frame is. */
static void print_thread_state(void) {
#if PY_VERSION_HEX >= 0x030D0000
  /* 3.13: the thread state points at the innermost frame itself. */
  printf(", .ts_frame = %zu, .cframe_current = -1", offsetof(PyThreadState, current_frame));
#elif PY_VERSION_HEX >= 0x030B0000
  printf(", .ts_frame = %zu, .cframe_current = %zu", offsetof(PyThreadState, cframe),
         offsetof(_PyCFrame, current_frame));
#else
  printf(", .ts_frame = %zu, .cframe_current = -1", offsetof(PyThreadState, frame));
#endif
}

/* The frame chain: previous frame, code, instruction, owner. */
static void print_frame(void) {
#if PY_VERSION_HEX >= 0x030B0000
  printf(", .frame_previous = %zu", offsetof(Frame, previous));
#if PY_VERSION_HEX >= 0x030D0000
  /* f_executable: a code object, or None for the C stack's shim frames (checked at run time). */
  printf(", .frame_code = %zu, .code_checked = 1, .frame_instr = %zu", offsetof(Frame, f_executable),
         offsetof(Frame, instr_ptr));
#else
  printf(", .frame_code = %zu, .code_checked = 0, .frame_instr = %zu", offsetof(Frame, f_code),
         offsetof(Frame, prev_instr));
#endif
  printf(", .frame_owner = %zu", offsetof(Frame, owner));
#if PY_VERSION_HEX >= 0x030C0000
  printf(", .frame_is_entry = -1, .owner_generator = %d, .owner_cstack = %d", FRAME_OWNED_BY_GENERATOR,
         FRAME_OWNED_BY_CSTACK);
#else
  printf(", .frame_is_entry = %zu, .owner_generator = %d, .owner_cstack = -1", offsetof(Frame, is_entry),
         FRAME_OWNED_BY_GENERATOR);
#endif
  /* Instruction pointers: the byte distance from the code's first unit is PyCode_Addr2Line's input. */
  printf(", .lasti_scale = 0");
#else
  printf(", .frame_previous = %zu, .frame_code = %zu, .code_checked = 0, .frame_instr = %zu",
         offsetof(Frame, f_back), offsetof(Frame, f_code), offsetof(Frame, f_lasti));
  printf(", .frame_owner = -1, .frame_is_entry = -1, .owner_generator = -1, .owner_cstack = -1");
  /* f_lasti counts bytes up to 3.9 and code units from 3.10 (PyFrame_GetLineNumber's conversion). */
#if PY_VERSION_HEX >= 0x030A0000
  printf(", .lasti_scale = %zu", sizeof(_Py_CODEUNIT));
#else
  printf(", .lasti_scale = 1");
#endif
#endif
}

/* Code objects: names, line table, first instruction. */
static void print_code(void) {
  printf(", .code_filename = %zu", offsetof(PyCodeObject, co_filename));
#if PY_VERSION_HEX >= 0x030B0000
  printf(", .code_name = %zu, .code_linetable = %zu", offsetof(PyCodeObject, co_qualname),
         offsetof(PyCodeObject, co_linetable));
  printf(", .code_firsttraceable = %zu, .code_units = %zu", offsetof(PyCodeObject, _co_firsttraceable),
         offsetof(PyCodeObject, co_code_adaptive));
#elif PY_VERSION_HEX >= 0x030A0000
  printf(", .code_name = %zu, .code_linetable = %zu", offsetof(PyCodeObject, co_name),
         offsetof(PyCodeObject, co_linetable));
  printf(", .code_firsttraceable = -1, .code_units = -1");
#else
  printf(", .code_name = %zu, .code_linetable = %zu", offsetof(PyCodeObject, co_name),
         offsetof(PyCodeObject, co_lnotab));
  printf(", .code_firsttraceable = -1, .code_units = -1");
#endif
  printf(", .code_unit = %zu, .ob_type = %zu", sizeof(_Py_CODEUNIT), offsetof(PyObject, ob_type));
}

/* str objects: where the text of an ASCII or UTF-8-cached string is. */
static void print_strings(void) {
  printf(", .str_length = %zu, .str_state = %zu, .str_ascii_data = %zu", offsetof(PyASCIIObject, length),
         offsetof(PyASCIIObject, state), sizeof(PyASCIIObject));
  printf(", .str_utf8_length = %zu, .str_utf8 = %zu", offsetof(PyCompactUnicodeObject, utf8_length),
         offsetof(PyCompactUnicodeObject, utf8));
  printf(", .bit_compact = %d, .bit_ascii = %d", STATE_BIT(compact), STATE_BIT(ascii));
#if PY_VERSION_HEX >= 0x030C0000
  printf(", .bit_ready = -1");
#else
  printf(", .bit_ready = %d", STATE_BIT(ready));
#endif
}

int main(void) {
  printf("  {.major = %d, .minor = %d", PY_MAJOR_VERSION, PY_MINOR_VERSION);
  print_thread_state();
  print_frame();
  print_code();
  print_strings();
  printf("},\n");
  return 0;
}
