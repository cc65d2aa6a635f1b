/*
 * pause: the pod sandbox ("infra") process of Kybernetes pods.
 *
 * It holds the pod's namespaces open and does nothing else: it sleeps until a signal arrives, exits 0 on
 * SIGINT/SIGTERM, and reaps every child re-parented to it (it is PID 1 of the pod's PID namespace when the
 * namespace is shared).  Built with `gcc -Os -static`, stripped; see src/kybernetes/agent/images.py.
 */
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig) {
  (void)sig;
  _exit(0);
}

static void on_child(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction stop = {0}, child = {0};
  stop.sa_handler = on_stop;
  sigaction(SIGINT, &stop, NULL);
  sigaction(SIGTERM, &stop, NULL);
  child.sa_handler = on_child;
  child.sa_flags = SA_NOCLDSTOP | SA_RESTART;
  sigaction(SIGCHLD, &child, NULL);
  for (;;) {
    pause();
  }
}
