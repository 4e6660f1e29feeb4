package dev.lookout.devserver;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.http.HttpServerTransport;
import org.elasticsearch.node.LookoutNode;
import org.elasticsearch.node.Node;
import org.elasticsearch.transport.netty4.Netty4Plugin;

/**
 * Starts one Elasticsearch 8.x or 9.x node in this JVM (whichever server jar is on the
 * classpath), bound to 127.0.0.1, and prints {@code LOOKOUT_ES_URL=http://127.0.0.1:PORT} once
 * HTTP answers. Stops cleanly on SIGTERM. Arguments as the 7.17 launcher: {@code --port N},
 * {@code --data DIR}.
 *
 * <p>What the distribution's bootstrap would do and this launcher does not: no security manager
 * (8.x) and no entitlement agent (9.x) are installed, since both guard against plugins that are
 * not loaded here; the root check is skipped (it lives in the bootstrap); native access for
 * 9.x (mlockall, zstd, SIMD vectors) is off because its shared libraries ship only inside the
 * distribution, so the {@code best_compression} codec is unavailable on 9.x (Lookout's indices
 * use the default codec).
 */
public final class EmbeddedElasticsearch {
  public static void main(String[] args) throws Exception {
    // The distribution's bootstrap sets up logging before anything logs: without it the
    // server's own logger factory is missing and the first logger fails.
    LogConfigurator.loadLog4jPlugins();
    LogConfigurator.configureESLogging();
    int port = 0;
    Path data = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--port": port = Integer.parseInt(args[++i]); break;
        case "--data": data = Path.of(args[++i]); break;
        default:
          System.err.println("unknown argument: " + args[i] + " (expected --port N, --data DIR)");
          System.exit(2);
      }
    }
    if (port == 0) port = freePort();
    if (data == null) data = Files.createTempDirectory("lookout-es-");
    Files.createDirectories(data);
    Path home = data.resolve("home");
    Files.createDirectories(home);
    Settings settings = Settings.builder()
        .put("cluster.name", "lookout-dev")
        .put("node.name", "lookout-dev")
        .put("path.home", home.toString())
        .put("path.data", data.resolve("data").toString())
        .put("path.logs", data.resolve("logs").toString())
        .put("network.host", "127.0.0.1")
        .put("http.port", Integer.toString(port))
        .put("transport.port", "0")
        .put("discovery.type", "single-node")
        .put("transport.type", "netty4")
        .put("http.type", "netty4")
        .put("action.auto_create_index", "true")
        // A development box can run low on disk; do not turn indices read-only for it.
        .put("cluster.routing.allocation.disk.threshold_enabled", "false")
        .put("search.max_keep_alive", "1h")
        .build();
    Node node = LookoutNode.create(settings, List.of(Netty4Plugin.class, RootInfoPlugin.class));
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        node.close();
      } catch (Exception e) {
        System.err.println("error while stopping Elasticsearch: " + e);
      }
    }, "lookout-es-shutdown"));
    node.start();
    var bound = node.injector().getInstance(HttpServerTransport.class).boundAddress().publishAddress();
    System.out.println("LOOKOUT_ES_URL=http://127.0.0.1:" + bound.getPort());
    System.out.flush();
    Thread.currentThread().join();
  }

  private static int freePort() throws java.io.IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) { return s.getLocalPort(); }
  }
}
