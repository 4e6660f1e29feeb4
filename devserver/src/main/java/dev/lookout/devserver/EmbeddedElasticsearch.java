package dev.lookout.devserver;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Collections;
import java.util.List;

import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.common.transport.TransportAddress;
import org.elasticsearch.http.HttpServerTransport;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.transport.Netty4Plugin;

/**
 * Starts one Elasticsearch 7.17 node in this JVM, bound to 127.0.0.1, and prints
 * {@code LOOKOUT_ES_URL=http://127.0.0.1:PORT} once HTTP answers. Stops cleanly on SIGTERM.
 *
 * <p>Arguments: {@code --port N} (0 or absent: a free port) and {@code --data DIR}
 * (absent: a new temporary folder). The root check lives in Elasticsearch's Bootstrap, which an
 * embedded node does not run, so this works as root.
 */
public final class EmbeddedElasticsearch {

  /** Node's plugin-taking constructor is protected: embedded runners subclass it. */
  private static final class PluginNode extends Node {
    PluginNode(Settings settings, Collection<Class<? extends Plugin>> plugins) {
      super(InternalSettingsPreparer.prepareEnvironment(settings, Collections.emptyMap(), null, () -> "lookout-dev"),
          plugins, true);
    }
  }

  public static void main(String[] args) throws Exception {
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

    List<Class<? extends Plugin>> plugins = List.of(Netty4Plugin.class);
    Node node = new PluginNode(settings, plugins);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        node.close();
      } catch (IOException e) {
        System.err.println("error while stopping Elasticsearch: " + e);
      }
    }, "lookout-es-shutdown"));
    node.start();

    TransportAddress bound = node.injector().getInstance(HttpServerTransport.class).boundAddress().publishAddress();
    System.out.println("LOOKOUT_ES_URL=http://" + InetAddress.getLoopbackAddress().getHostAddress() + ":" + bound.getPort());
    System.out.flush();
    Thread.currentThread().join();
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      socket.setReuseAddress(true);
      return socket.getLocalPort();
    }
  }
}
