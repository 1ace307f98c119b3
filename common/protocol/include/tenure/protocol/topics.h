// PUB topics. A news message is [topic, signature, body]; the topic is
// "entity:<id>\x1f" or "node:<id>\x1f". The closing unit separator (never part
// of an id) lets a subscriber take exactly one entity by prefix without also
// getting every id that starts with it.
#pragma once

#include <string>
#include <string_view>

#include "tenure/protocol/messages.h"

namespace tenure::protocol {

inline constexpr std::string_view kEntityTopicPrefix = "entity:";
inline constexpr std::string_view kNodeTopicPrefix = "node:";
inline constexpr char kTopicEnd = '\x1f';

inline std::string EntityTopic(std::string_view id) {
  return std::string(kEntityTopicPrefix) + std::string(id) + kTopicEnd;
}

inline std::string NodeTopic(std::string_view id) {
  return std::string(kNodeTopicPrefix) + std::string(id) + kTopicEnd;
}

inline std::string TopicFor(const Event& e) {
  return e.entity_id.empty() ? NodeTopic(e.node) : EntityTopic(e.entity_id);
}

}  // namespace tenure::protocol
