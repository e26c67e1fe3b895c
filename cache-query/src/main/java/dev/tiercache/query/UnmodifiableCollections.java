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
 * Makes Jackson read a row's collections and maps declared as interfaces ({@code List}, {@code Set}, {@code Map},
 * ...) as unmodifiable views of what it built, which nothing else references: a row decoded from the L2 is then as
 * immutable as the one the loader returned ({@link ResultGuard}), and one caller cannot change what the next caller
 * on that node is served. A component declared as a concrete class ({@code ArrayList}) is left as Jackson builds it;
 * the loader refused such a row anyway.
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
        UnaryOperator<Object> view = collectionView(type.getRawClass());
        return view == null ? deserializer : new Viewing(deserializer, view);
      }

      @Override
      public JsonDeserializer<?> modifyMapDeserializer(
          DeserializationConfig config, MapType type, BeanDescription description, JsonDeserializer<?> deserializer) {
        UnaryOperator<Object> view = mapView(type.getRawClass());
        return view == null ? deserializer : new Viewing(deserializer, view);
      }
    });
    return module;
  }

  @SuppressWarnings("unchecked")
  private static UnaryOperator<Object> collectionView(Class<?> declared) {
    if (declared == List.class) {
      return c -> Collections.unmodifiableList((List<Object>) c);
    }
    if (declared == NavigableSet.class) {
      return c -> Collections.unmodifiableNavigableSet((NavigableSet<Object>) c);
    }
    if (declared == SortedSet.class) {
      return c -> Collections.unmodifiableSortedSet((SortedSet<Object>) c);
    }
    if (declared == Set.class) {
      return c -> Collections.unmodifiableSet((Set<Object>) c);
    }
    if (declared == Collection.class || declared == Iterable.class) {
      return c -> Collections.unmodifiableCollection((Collection<Object>) c);
    }
    return null;
  }

  @SuppressWarnings("unchecked")
  private static UnaryOperator<Object> mapView(Class<?> declared) {
    if (declared == NavigableMap.class) {
      return m -> Collections.unmodifiableNavigableMap((NavigableMap<Object, Object>) m);
    }
    if (declared == SortedMap.class) {
      return m -> Collections.unmodifiableSortedMap((SortedMap<Object, Object>) m);
    }
    if (declared == Map.class) {
      return m -> Collections.unmodifiableMap((Map<Object, Object>) m);
    }
    return null;
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
