package org.elasticsearch.node;

import java.util.Collection;

import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.plugins.MockPluginsService;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.plugins.PluginsService;

/**
 * A node whose plugins are classes on the classpath (Netty4 for HTTP), built the way the test
 * framework's MockNode builds one for Elasticsearch 8.x: NodeConstruction with a service
 * provider that returns a MockPluginsService. It lives in Node's package because that
 * constructor and NodeServiceProvider are package-private. MockNode itself is not used: its
 * constructor reads ESTestCase, whose static set-up (BootstrapForTesting) refuses to run as root
 * and installs the test security manager.
 */
public final class LookoutNode extends Node {
  private LookoutNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
    super(NodeConstruction.prepareConstruction(environment, new NodeServiceProvider() {
      @Override
      PluginsService newPluginService(Environment env, Settings settings) {
        return new MockPluginsService(settings, env, plugins);
      }
    }, true));
  }

  public static Node create(Settings settings, Collection<Class<? extends Plugin>> plugins) {
    return new LookoutNode(InternalSettingsPreparer.prepareEnvironment(settings, java.util.Map.of(), null, () -> "lookout-dev"), plugins);
  }
}
