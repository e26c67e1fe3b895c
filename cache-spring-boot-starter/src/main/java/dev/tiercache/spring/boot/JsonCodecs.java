package dev.tiercache.spring.boot;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tiercache.codec.JsonCodec;
import dev.tiercache.codec.ValueCodec;

/** Makes the JSON codecs of {@code codec: json} caches with one mapper (Spring Boot's, when it has one). */
final class JsonCodecs {

  private final ObjectMapper mapper;

  JsonCodecs(ObjectMapper mapper) {
    this.mapper = mapper;
  }

  ObjectMapper mapper() {
    return mapper;
  }

  ValueCodec<?> codecFor(Class<?> type) {
    return JsonCodec.of(type, mapper);
  }
}
