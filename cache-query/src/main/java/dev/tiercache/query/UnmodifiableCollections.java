package dev.tiercache.query;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.DeserializationConfig;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.deser.BeanDeserializerModifier;
import com.fasterxml.jackson.databind.deser.std.DelegatingDeserializer;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.type.CollectionType;
import com.fasterxml.jackson.databind.type.MapType;
import java.io.IOException;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.NavigableSet;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.function.UnaryOperator;

/**
 * Makes Jackson read a row's collections and maps as unmodifiable views of what it built, which nothing else
 * references: a row decoded from the L2 is then as immutable as the one the loader returned ({@link ResultGuard}),
 * and one caller cannot change what the next caller on that node is served. A component declared as a concrete
 * class ({@code ArrayList}) then fails to decode (a miss); the loader refused such a row anyway.
 */
final class UnmodifiableCollections {

  private UnmodifiableCollections() {}

  /** The module to register on the codec's mapper. */
  static SimpleModule module() {
    SimpleModule module = new SimpleModule("tiercache-unmodifiable-collections");
    module.setDeserializerModifier(new BeanDeserializerModifier() {
      @Override
      public JsonDeserializer<?> modifyCollectionDeserializer(
          DeserializationConfig config, CollectionType type, BeanDescription description,
          JsonDeserializer<?> deserializer) {
        return new Viewing(deserializer, collectionView(type.getRawClass()));
      }

      @Override
      public JsonDeserializer<?> modifyMapDeserializer(
          DeserializationConfig config, MapType type, BeanDescription description, JsonDeserializer<?> deserializer) {
        return new Viewing(deserializer, mapView(type.getRawClass()));
      }
    });
    return module;
  }

  // Jackson hands the modifier the implementation it chose for a declared interface (ArrayList for List), so the
  // view goes by what the implementation is.
  @SuppressWarnings("unchecked")
  private static UnaryOperator<Object> collectionView(Class<?> built) {
    if (List.class.isAssignableFrom(built)) {
      return c -> Collections.unmodifiableList((List<Object>) c);
    }
    if (NavigableSet.class.isAssignableFrom(built)) {
      return c -> Collections.unmodifiableNavigableSet((NavigableSet<Object>) c);
    }
    if (SortedSet.class.isAssignableFrom(built)) {
      return c -> Collections.unmodifiableSortedSet((SortedSet<Object>) c);
    }
    if (Set.class.isAssignableFrom(built)) {
      return c -> Collections.unmodifiableSet((Set<Object>) c);
    }
    return c -> Collections.unmodifiableCollection((Collection<Object>) c);
  }

  @SuppressWarnings("unchecked")
  private static UnaryOperator<Object> mapView(Class<?> built) {
    if (NavigableMap.class.isAssignableFrom(built)) {
      return m -> Collections.unmodifiableNavigableMap((NavigableMap<Object, Object>) m);
    }
    if (SortedMap.class.isAssignableFrom(built)) {
      return m -> Collections.unmodifiableSortedMap((SortedMap<Object, Object>) m);
    }
    return m -> Collections.unmodifiableMap((Map<Object, Object>) m);
  }

  /** Jackson's deserializer of the collection, its result wrapped. */
  private static final class Viewing extends DelegatingDeserializer {
    private static final long serialVersionUID = 1L;

    private final transient UnaryOperator<Object> view;

    Viewing(JsonDeserializer<?> delegate, UnaryOperator<Object> view) {
      super(delegate);
      this.view = view;
    }

    @Override
    protected JsonDeserializer<?> newDelegatingInstance(JsonDeserializer<?> newDelegatee) {
      return new Viewing(newDelegatee, view);
    }

    @Override
    public Object deserialize(JsonParser parser, DeserializationContext context) throws IOException {
      Object built = _delegatee.deserialize(parser, context);
      return built == null ? null : view.apply(built);
    }
  }
}
