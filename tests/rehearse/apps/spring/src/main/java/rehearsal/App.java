// An `http` service of framework `spring`, for the rehearsal: Spring Boot with the actuator and
// Micrometer's Prometheus registry at their defaults (application.properties only exposes the
// endpoint, as every Prometheus user must).
//
// Routes, for traffic and faults (the same as the other apps'): / (200), /status/{code},
// /slow/{ms}, $LIVE_PATH and $READY_PATH (503 after POST /control/ready/0, as is the actuator's
// readiness group where the health probes are on),
// POST /control/fds/{n} (opens n more file descriptors and keeps them open, as a leak would),
// POST /control/heap/{mb} (keeps that many more megabytes of heap reachable, then collects), and
// $METRICS_PATH (the actuator's Prometheus endpoint, /actuator/prometheus unless moved).
//
// Run: java -jar spring-app.jar --server.address=ADDR --server.port=PORT
package rehearsal;

import java.io.FileInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.context.ApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.function.RouterFunction;
import org.springframework.web.servlet.function.RouterFunctions;
import org.springframework.web.servlet.function.ServerResponse;

@SpringBootApplication
@RestController
public class App {
    private final AtomicBoolean ready = new AtomicBoolean(true);
    private final List<FileInputStream> leaked = new ArrayList<>();
    private final List<byte[]> held = new ArrayList<>();
    private final ApplicationContext context;

    public App(ApplicationContext context) {
        this.context = context;
    }

    public static void main(String[] args) {
        // $METRICS_PATH: the actuator's Prometheus endpoint moved there, as an application
        // whose manifest gives another `metrics` path would.
        String path = System.getenv().getOrDefault("METRICS_PATH", "/actuator/prometheus");
        if (!path.equals("/actuator/prometheus")) {
            int slash = path.lastIndexOf('/');
            System.setProperty("management.endpoints.web.base-path", slash == 0 ? "/" : path.substring(0, slash));
            System.setProperty("management.endpoints.web.path-mapping.prometheus", path.substring(slash + 1));
        }
        SpringApplication.run(App.class, args);
    }

    @GetMapping("/")
    public String root() {
        return "ok\n";
    }

    @GetMapping("/status/{code}")
    public ResponseEntity<Void> status(@PathVariable int code) {
        return ResponseEntity.status(code).build();
    }

    @GetMapping("/slow/{ms}")
    public String slow(@PathVariable long ms) throws InterruptedException {
        Thread.sleep(ms);
        return "ok\n";
    }

    @PostMapping("/control/ready/{ok}")
    public String control(@PathVariable int ok) {
        ready.set(ok != 0);
        // The actuator's readiness group too (/actuator/health/readiness, served where the health
        // probes are on), where a manifest's `ready` points at it.
        AvailabilityChangeEvent.publish(context, ok != 0 ? ReadinessState.ACCEPTING_TRAFFIC : ReadinessState.REFUSING_TRAFFIC);
        return "ok\n";
    }

    @PostMapping("/control/fds/{n}")
    public synchronized ResponseEntity<Void> fds(@PathVariable int n) {
        try {
            for (int i = 0; i < n; i++) {
                leaked.add(new FileInputStream("/dev/null"));
            }
        } catch (IOException e) {
            return ResponseEntity.status(507).build();
        }
        return ResponseEntity.ok().build();
    }

    @PostMapping("/control/heap/{mb}")
    public synchronized ResponseEntity<Void> heap(@PathVariable int mb) {
        try {
            // In quarters of a megabyte: a whole one is a humongous object to G1, which holds
            // a region and more for it.
            for (int i = 0; i < 4 * mb; i++) {
                held.add(new byte[1 << 18]);
            }
        } catch (OutOfMemoryError e) {
            return ResponseEntity.status(507).build();
        }
        // A collection now, so what is held is what the heap has after one.
        System.gc();
        return ResponseEntity.ok().build();
    }

    // The health endpoints the manifest names: the live one always 200, the ready one 503
    // once POST /control/ready/0 has been called (one handler a path; none for "/").
    @Bean
    RouterFunction<ServerResponse> health() {
        String live = System.getenv().getOrDefault("LIVE_PATH", "");
        String readyPath = System.getenv().getOrDefault("READY_PATH", "");
        var routes = RouterFunctions.route().GET("/control/ready", r -> ServerResponse.ok().body(ready.get() + "\n"));
        if (!live.isEmpty() && !live.equals("/") && !live.equals(readyPath)) {
            routes.GET(live, r -> ServerResponse.ok().build());
        }
        if (!readyPath.isEmpty() && !readyPath.equals("/")) {
            routes.GET(readyPath, r -> ServerResponse.status(ready.get() ? 200 : 503).build());
        }
        return routes.build();
    }
}
