package dev.tiercache.spring.sample;

import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.cache.annotation.EnableCaching;

/** A Spring Boot application with caching on, and the Tiercache starter on its class path: no cache code at all. */
@SpringBootApplication
@EnableCaching
public class SampleApplication {

  /** Created by Spring Boot. */
  public SampleApplication() {}
}
