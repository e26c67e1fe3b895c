package dev.tiercache.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectMapper.DefaultTyping;
import com.fasterxml.jackson.databind.cfg.MapperConfig;
import com.fasterxml.jackson.databind.jsontype.BasicPolymorphicTypeValidator;
import com.fasterxml.jackson.databind.jsontype.PolymorphicTypeValidator;
import com.fasterxml.jackson.databind.jsontype.TypeResolverBuilder;
import com.fasterxml.jackson.databind.jsontype.impl.LaissezFaireSubTypeValidator;
import com.fasterxml.jackson.databind.jsontype.impl.StdTypeResolverBuilder;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Issue 10 #16: a mapper with default typing and a permissive validator would let the shared, untrusted L2 choose
 * the classes Jackson instantiates. JsonCodec refuses it, and still accepts an allow-list.
 */
class JsonCodecDefaultTypingTest {

  record Item(int id, String name) {}

  record Other(int id, String name) {}

  /** A property of declared type Object: what default typing is for, and where gadgets get in. */
  record Envelope(Object payload) {}

  /** A validator that says yes to every subtype and no to nothing: a hand-written laissez-faire. */
  static final class AllowAll extends PolymorphicTypeValidator.Base {
    private static final long serialVersionUID = 1L;

    @Override
    public Validity validateSubType(MapperConfig<?> config, JavaType baseType, JavaType subType) {
      return Validity.ALLOWED;
    }
  }

  /** A validator that allows any name under a prefix, and so any class in that package tree. */
  static final class AllowByName extends PolymorphicTypeValidator.Base {
    private static final long serialVersionUID = 1L;

    @Override
    public Validity validateSubClassName(MapperConfig<?> config, JavaType baseType, String subClassName) {
      return subClassName.startsWith("org.springframework.") ? Validity.ALLOWED : Validity.INDETERMINATE;
    }
  }

  @SuppressWarnings("deprecation") // enableDefaultTyping() is exactly the old, unsafe form this must refuse
  private static List<Supplier<ObjectMapper>> unsafeMappers() {
    return List.of(
        () -> new ObjectMapper().enableDefaultTyping(),
        () -> new ObjectMapper().activateDefaultTyping(LaissezFaireSubTypeValidator.instance),
        () ->
            new ObjectMapper()
                .activateDefaultTypingAsProperty(new AllowAll(), DefaultTyping.NON_FINAL, "@class"),
        () -> new ObjectMapper().activateDefaultTyping(new AllowByName(), DefaultTyping.JAVA_LANG_OBJECT),
        () ->
            new ObjectMapper()
                .activateDefaultTyping(
                    BasicPolymorphicTypeValidator.builder().allowIfBaseType(Object.class).build()),
        () ->
            new ObjectMapper()
                .activateDefaultTyping(
                    BasicPolymorphicTypeValidator.builder().allowIfSubType(Object.class).build()),
        () ->
            new ObjectMapper()
                .activateDefaultTyping(BasicPolymorphicTypeValidator.builder().allowIfSubType("com.").build()),
        () ->
            new ObjectMapper()
                .activateDefaultTyping(
                    BasicPolymorphicTypeValidator.builder().allowIfBaseType(java.io.Serializable.class).build()),
        // Jackson's own builder without a validator of its own falls back to the mapper's: laissez-faire.
        () ->
            new ObjectMapper()
                .setDefaultTyping(
                    new StdTypeResolverBuilder()
                        .init(JsonTypeInfo.Id.CLASS, null)
                        .inclusion(JsonTypeInfo.As.PROPERTY)));
  }

  @Test
  void mappersWithDefaultTypingAndAPermissiveValidatorAreRefused() {
    List<Supplier<ObjectMapper>> mappers = unsafeMappers();
    for (int i = 0; i < mappers.size(); i++) {
      ObjectMapper mapper = mappers.get(i).get();
      assertThatThrownBy(() -> JsonCodec.of(Item.class, mapper))
          .as("unsafe mapper #%d", i)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("default typing")
          .hasMessageContaining("allow-list");
      assertThatThrownBy(() -> JsonCodec.of(new TypeReference<List<Item>>() {}, mapper))
          .as("unsafe mapper #%d, TypeReference form", i)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void theMessageSaysWhatWasAllowed() {
    ObjectMapper laissezFaire = new ObjectMapper().activateDefaultTyping(LaissezFaireSubTypeValidator.instance);
    assertThatThrownBy(() -> JsonCodec.of(Item.class, laissezFaire))
        .hasMessageContaining("LaissezFaireSubTypeValidator");
    PolymorphicTypeValidator comDot = BasicPolymorphicTypeValidator.builder().allowIfSubType("com.").build();
    assertThatThrownBy(() -> JsonCodec.of(Item.class, new ObjectMapper().activateDefaultTyping(comDot)))
        .hasMessageContaining("com.sun.rowset.JdbcRowSetImpl");
    PolymorphicTypeValidator object = BasicPolymorphicTypeValidator.builder().allowIfBaseType(Object.class).build();
    assertThatThrownBy(() -> JsonCodec.of(Item.class, new ObjectMapper().activateDefaultTyping(object)))
        .hasMessageContaining("every subtype of java.lang.Object");
  }

  @Test
  void aDefaultTyperWhoseValidatorCannotBeAskedIsRefused() {
    TypeResolverBuilder<?> foreign =
        (TypeResolverBuilder<?>)
            Proxy.newProxyInstance(
                getClass().getClassLoader(),
                new Class<?>[] {TypeResolverBuilder.class},
                (proxy, method, args) -> {
                  throw new UnsupportedOperationException(method.getName());
                });
    ObjectMapper mapper = new ObjectMapper().setDefaultTyping(foreign);

    assertThatThrownBy(() -> JsonCodec.of(Item.class, mapper))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("does not expose its type validator");
  }

  @Test
  void mappersWithoutDefaultTypingAreAccepted() {
    assertThat(JsonCodec.of(Item.class, new ObjectMapper())).isNotNull();
    ObjectMapper deactivated =
        new ObjectMapper().activateDefaultTyping(LaissezFaireSubTypeValidator.instance).deactivateDefaultTyping();
    JsonCodec<Item> codec = JsonCodec.of(Item.class, deactivated);
    assertThat(codec.decode(codec.encode(new Item(1, "a")))).isEqualTo(new Item(1, "a"));
  }

  @Test
  void anAllowListIsAcceptedAndStillRefusesForgedTypes() {
    ObjectMapper mapper =
        new ObjectMapper()
            .activateDefaultTyping(
                BasicPolymorphicTypeValidator.builder().allowIfSubType(Item.class).build(),
                DefaultTyping.JAVA_LANG_OBJECT);
    JsonCodec<Envelope> codec = JsonCodec.of(Envelope.class, mapper);

    byte[] encoded = codec.encode(new Envelope(new Item(7, "seven")));
    String json = new String(encoded, StandardCharsets.UTF_8);
    assertThat(json).contains(Item.class.getName()); // default typing is really in use
    assertThat(codec.decode(encoded)).isEqualTo(new Envelope(new Item(7, "seven")));

    // Bytes in the L2 that name a class outside the allow-list are a corrupt entry, not an instance of it.
    byte[] forged = json.replace(Item.class.getName(), Other.class.getName()).getBytes(StandardCharsets.UTF_8);
    assertThatThrownBy(() -> codec.decode(forged)).isInstanceOf(CodecException.class);
  }
}
