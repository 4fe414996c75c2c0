/* imp-probe.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "imp-recording-private.h"

/* Trial runs in a child process.
 *
 * HDF5 and libbiosig trust the files they read: a damaged file can make
 * them crash, loop for ever, or allocate until the kernel steps in. Before
 * such a file is opened in this process, a forked child opens it the same
 * way and reads a little of it, with a time limit and a limit on how much
 * more memory it may take. Only if the child finishes is the file opened
 * here. The child reports through a pipe what it is reading ("S" lines),
 * so a crash can be put in words, and any ordinary error it met ("E").
 *
 * fork() copies only the calling thread. A lock another thread holds at
 * that moment stays locked in the child for ever, so callers fork while
 * holding the lock of the library the child will use (HDF5 or libbiosig),
 * and the child logs nothing: GLib's message lock could be held. GLib
 * 2.74's slice allocator has locks of its own that no one can take
 * here, so the program (main.c) and the tests run with
 * G_SLICE=always-malloc, which hands slices to the fork-safe malloc. A
 * program that links this library without doing so risks a child that
 * times out when another thread frees slices at the moment of the fork. */

#define CHILD_EXIT_CALLED  97
#define CHILD_FAILED       98
#define CHILD_DECLINED     99
#define POLL_MS            20

static int probe_fd = -1;

static void
child_exit_guard (void)
{
  /* The library called exit(): leave at once, without running the
   * parent's exit handlers (which would, for one, close its HDF5 files). */
  _exit (CHILD_EXIT_CALLED);
}

static void
write_all (int         fd,
           const char *text,
           gsize       len)
{
  while (len > 0)
    {
      ssize_t done = write (fd, text, len);

      if (done < 0 && errno == EINTR)
        continue;
      if (done <= 0)
        return;
      text += done;
      len -= done;
    }
}

/**
 * _imp_probe_stage:
 * @what: what is being read now, as it ends "… crashed while reading
 *   its @what"
 *
 * In a probe child, records what it is reading; elsewhere does nothing.
 */
void
_imp_probe_stage (const char *what)
{
  char line[256];
  int len;

  if (probe_fd < 0)
    return;
  len = g_snprintf (line, sizeof line, "S%s\n", what);
  write_all (probe_fd, line, MIN ((gsize) len, sizeof line - 1));
}

/**
 * _imp_probe_in_child:
 *
 * Returns: whether this process is a probe child
 */
gboolean
_imp_probe_in_child (void)
{
  return probe_fd >= 0;
}

/* Bytes of address space this process uses now, or 0 if unknown. */
static guint64
address_space_now (void)
{
  g_autofree char *text = NULL;
  guint64 pages;

  if (!g_file_get_contents ("/proc/self/statm", &text, NULL, NULL))
    return 0;
  pages = g_ascii_strtoull (text, NULL, 10);
  return pages * (guint64) sysconf (_SC_PAGESIZE);
}

static G_GNUC_NORETURN void
run_child (int           fd,
           ImpProbeFunc  func,
           gpointer      data,
           guint64       limit)
{
  g_autoptr(GError) error = NULL;
  struct rlimit no_core = { 0, 0 };
  int devnull = open ("/dev/null", O_RDWR);

  if (devnull >= 0)
    {
      dup2 (devnull, STDOUT_FILENO);
      dup2 (devnull, STDERR_FILENO);
    }
  setrlimit (RLIMIT_CORE, &no_core);
  if (limit > 0)
    {
      struct rlimit as = { limit, limit };

      setrlimit (RLIMIT_AS, &as);
    }
  probe_fd = fd;
  atexit (child_exit_guard);

  if (func (data, &error))
    _exit (0);
  if (error == NULL)
    _exit (CHILD_DECLINED);
  {
    g_autofree char *line = g_strdup_printf ("E%d %s\n", error->code,
                                             error->message);

    /* One line per report: a message never spans two. */
    g_strdelimit (line + 1, "\n\r", ' ');
    line[strlen (line) - 1] = '\n';
    write_all (fd, line, strlen (line));
  }
  _exit (CHILD_FAILED);
}

/* Reads what the child has written so far into @text. */
static void
drain (int      fd,
       GString *text)
{
  char buf[4096];

  for (;;)
    {
      ssize_t got = read (fd, buf, sizeof buf);

      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0)
        return;
      g_string_append_len (text, buf, got);
    }
}

/* The last stage the child announced and the error it reported. */
static void
parse_report (const char    *text,
              ImpProbeReport *report)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];

      if (line[0] == 'S')
        {
          g_free (report->stage);
          report->stage = g_strdup (line + 1);
        }
      else if (line[0] == 'E')
        {
          char *end = NULL;
          gint64 code = g_ascii_strtoll (line + 1, &end, 10);

          if (end != NULL && *end == ' ')
            {
              g_free (report->message);
              report->code = (int) code;
              report->message = g_strdup (end + 1);
            }
        }
    }
}

/**
 * _imp_probe_run:
 * @func: what the child runs
 * @data: its argument
 * @fork_lock: (nullable): the lock of the library @func uses, held by
 *   another thread perhaps; taken around fork() only
 * @timeout_s: how long the child may take
 * @memory_bytes: how much address space the child may add to what this
 *   process uses
 * @report: (out caller-allocates): how the child ended; clear with
 *   _imp_probe_report_clear()
 *
 * Runs @func in a forked child and waits for it. The caller holds the
 * lock of any other library @func uses. In the child, _imp_probe_in_child()
 * is TRUE and @fork_lock must not be taken: its copy is held by a thread
 * that does not exist there.
 *
 * Returns: how the child ended (also in @report->outcome)
 */
ImpProbeOutcome
_imp_probe_run (ImpProbeFunc     func,
                gpointer         data,
                GRecMutex       *fork_lock,
                guint            timeout_s,
                guint64          memory_bytes,
                ImpProbeReport  *report)
{
  g_autoptr(GString) text = g_string_new (NULL);
  guint64 base = address_space_now ();
  gint64 deadline;
  int fds[2];
  int status = 0;
  pid_t pid;

  memset (report, 0, sizeof *report);
  report->outcome = IMP_PROBE_UNAVAILABLE;
  /* Registered here, not first in the child, where the quark table's
   * lock may be held by a thread that is not there. */
  (void) imp_recording_error_quark ();
  if (pipe (fds) != 0)
    return report->outcome;

  fflush (stdout);
  fflush (stderr);
  if (fork_lock != NULL)
    g_rec_mutex_lock (fork_lock);
  pid = fork ();
  if (pid != 0 && fork_lock != NULL)
    g_rec_mutex_unlock (fork_lock);
  if (pid < 0)
    {
      close (fds[0]);
      close (fds[1]);
      return report->outcome;
    }
  if (pid == 0)
    {
      close (fds[0]);
      run_child (fds[1], func, data, base > 0 ? base + memory_bytes : 0);
    }

  close (fds[1]);
  fcntl (fds[0], F_SETFL, fcntl (fds[0], F_GETFL) | O_NONBLOCK);
  deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;
  for (;;)
    {
      struct pollfd pfd = { fds[0], POLLIN, 0 };
      pid_t done = waitpid (pid, &status, WNOHANG);

      if (done == pid)
        break;
      if (done < 0 && errno != EINTR)
        {
          close (fds[0]);
          return report->outcome;
        }
      if (g_get_monotonic_time () > deadline)
        {
          kill (pid, SIGKILL);
          waitpid (pid, &status, 0);
          report->outcome = IMP_PROBE_TIMEOUT;
          break;
        }
      if (poll (&pfd, 1, POLL_MS) > 0)
        drain (fds[0], text);
    }
  drain (fds[0], text);
  close (fds[0]);
  parse_report (text->str, report);

  if (report->outcome == IMP_PROBE_TIMEOUT)
    return report->outcome;
  if (WIFSIGNALED (status))
    {
      report->outcome = IMP_PROBE_CRASHED;
      report->signal = WTERMSIG (status);
    }
  else if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    report->outcome = IMP_PROBE_OK;
  else if (WIFEXITED (status) && WEXITSTATUS (status) == CHILD_FAILED
           && report->message != NULL)
    report->outcome = IMP_PROBE_FAILED;
  else if (WIFEXITED (status) && WEXITSTATUS (status) == CHILD_DECLINED)
    report->outcome = IMP_PROBE_DECLINED;
  else if (WIFEXITED (status) && WEXITSTATUS (status) == CHILD_EXIT_CALLED)
    report->outcome = IMP_PROBE_EXITED;
  else
    /* A sanitizer reports a crash by exiting with its own status. */
    report->outcome = IMP_PROBE_CRASHED;

  return report->outcome;
}

/**
 * _imp_probe_report_clear:
 * @report: a report filled in by _imp_probe_run()
 *
 * Frees the report's strings.
 */
void
_imp_probe_report_clear (ImpProbeReport *report)
{
  g_clear_pointer (&report->stage, g_free);
  g_clear_pointer (&report->message, g_free);
}
