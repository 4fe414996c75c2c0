/* imp-test-loop.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

/* Main-loop helpers shared by the window tests: run the loop until a
 * condition holds (failing after IMP_TEST_TIMEOUT_S), or for a while. */

#pragma once

#include <glib.h>

#define IMP_TEST_TIMEOUT_S 120

typedef gboolean (*Condition) (gpointer data);

static gboolean
timeout_cb (gpointer data)
{
  gboolean *timed_out = data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main loop until @condition holds; fails after
 * IMP_TEST_TIMEOUT_S. */
G_GNUC_UNUSED static void
wait_until (Condition condition,
            gpointer  data)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (IMP_TEST_TIMEOUT_S, timeout_cb,
                                    &timed_out);

  while (!condition (data) && !timed_out)
    g_main_context_iteration (NULL, TRUE);

  g_assert_false (timed_out);
  g_source_remove (id);
}

/* Runs the main loop for @ms milliseconds. */
G_GNUC_UNUSED static void
spin (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, timeout_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}
