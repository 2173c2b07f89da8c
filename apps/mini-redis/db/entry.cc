#include "apps/mini-redis/db/entry.h"

#include <new>

namespace mini_redis {

// ---- Hash ----

std::ptrdiff_t Hash::find(std::string_view field) const {
  if (index_ != nullptr) {
    auto it = index_->find(field);
    return it == index_->end() ? -1 : static_cast<std::ptrdiff_t>(it->second);
  }
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    if (fields_[i].first == field) return static_cast<std::ptrdiff_t>(i);
  }
  return -1;
}

void Hash::build_index() {
  index_ = std::make_unique<absl::flat_hash_map<std::string_view, std::uint32_t>>();
  index_->reserve(fields_.size());
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    index_->emplace(std::string_view(fields_[i].first), static_cast<std::uint32_t>(i));
  }
}

const std::string* Hash::get(std::string_view field) const {
  std::ptrdiff_t i = find(field);
  return i < 0 ? nullptr : &fields_[static_cast<std::size_t>(i)].second;
}

bool Hash::set(std::string_view field, std::string_view value) {
  std::ptrdiff_t i = find(field);
  if (i >= 0) {
    fields_[static_cast<std::size_t>(i)].second.assign(value.data(), value.size());
    return false;
  }
  const bool moves = fields_.size() == fields_.capacity();
  fields_.emplace_back(std::string(field), std::string(value));
  if (index_ != nullptr && !moves) {
    index_->emplace(std::string_view(fields_.back().first),
                    static_cast<std::uint32_t>(fields_.size() - 1));
  } else if (index_ != nullptr || fields_.size() > kHashIndexThreshold) {
    // The vector moved its strings (short ones keep their bytes inline): views are stale.
    build_index();
  }
  return true;
}

bool Hash::erase(std::string_view field) {
  std::ptrdiff_t found = find(field);
  if (found < 0) return false;
  const auto i = static_cast<std::size_t>(found);
  if (index_ == nullptr) {
    fields_.erase(fields_.begin() + static_cast<std::ptrdiff_t>(i));  // keeps insertion order
    return true;
  }
  index_->erase(std::string_view(fields_[i].first));
  const std::size_t last = fields_.size() - 1;
  if (i != last) {
    index_->erase(std::string_view(fields_[last].first));
    fields_[i] = std::move(fields_[last]);
    index_->emplace(std::string_view(fields_[i].first), static_cast<std::uint32_t>(i));
  }
  fields_.pop_back();
  return true;
}

// ---- Entry ----

Entry* Entry::allocate(std::string_view key, ValueType type, std::size_t value_len,
                       std::int64_t expire_at) {
  const bool expires = expire_at != kNoExpire;
  const std::size_t size =
      sizeof(Entry) + (expires ? kExpireBlock : 0) + key.size() + value_len;
  void* mem = ::operator new(size);
  Entry* e = new (mem) Entry();
  e->key_len_ = key.size();
  e->value_len_ = value_len;
  e->type_ = static_cast<std::uint64_t>(type);
  e->has_expire_ = expires ? 1 : 0;
  if (expires) {
    e->set_expire_at(expire_at);
    e->set_expire_pos(0);
  }
  if (!key.empty()) std::memcpy(e->data() + e->key_offset(), key.data(), key.size());
  return e;
}

Entry* Entry::make_string(std::string_view key, std::string_view value, std::int64_t expire_at) {
  Entry* e = allocate(key, ValueType::kString, value.size(), expire_at);
  if (!value.empty()) std::memcpy(e->value_ptr(), value.data(), value.size());
  return e;
}

Entry* Entry::make_string_uninit(std::string_view key, std::size_t value_len,
                                 std::int64_t expire_at) {
  return allocate(key, ValueType::kString, value_len, expire_at);
}

Entry* Entry::make_list(std::string_view key, List* list, std::int64_t expire_at) {
  Entry* e = allocate(key, ValueType::kList, sizeof(List*), expire_at);
  std::memcpy(e->value_ptr(), &list, sizeof list);
  return e;
}

Entry* Entry::make_hash(std::string_view key, Hash* hash, std::int64_t expire_at) {
  Entry* e = allocate(key, ValueType::kHash, sizeof(Hash*), expire_at);
  std::memcpy(e->value_ptr(), &hash, sizeof hash);
  return e;
}

Entry* Entry::with_expire(const Entry* old, std::int64_t expire_at) {
  Entry* e = allocate(old->key(), old->type(), old->value_len_, expire_at);
  if (old->value_len_ != 0) std::memcpy(e->value_ptr(), old->value_ptr(), old->value_len_);
  return e;
}

void Entry::destroy(Entry* e) {
  if (e == nullptr) return;
  switch (e->type()) {
    case ValueType::kList:
      delete e->list();
      break;
    case ValueType::kHash:
      delete e->hash();
      break;
    case ValueType::kString:
      break;
  }
  free_shell(e);
}

void Entry::free_shell(Entry* e) {
  e->~Entry();
  ::operator delete(static_cast<void*>(e));
}

}  // namespace mini_redis
