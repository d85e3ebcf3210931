// Reading a written TFLite flatbuffer by field slot in tests (no generated code): the vtable
// slot of field N, and its vector fields.
#pragma once

#include <flatbuffers/flatbuffers.h>

namespace micronas::test {

namespace fb = flatbuffers;
using Tables = fb::Vector<fb::Offset<fb::Table>>;

constexpr fb::voffset_t slot(int field) { return static_cast<fb::voffset_t>(4 + 2 * field); }

inline const Tables* tables(const fb::Table* t, int field) {
  return t->GetPointer<const Tables*>(slot(field));
}

template <class T>
const fb::Vector<T>* vec(const fb::Table* t, int field) {
  return t->GetPointer<const fb::Vector<T>*>(slot(field));
}

}  // namespace micronas::test
