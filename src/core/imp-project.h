/* imp-project.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>
#include <hdf5.h>

#include "imp-recording.h"

G_BEGIN_DECLS

/* The project file: an HDF5 file beside a recording that keeps what
 * Imprint computed from it (the level-of-detail pyramid, later analysis
 * results and curation), so that the recording itself is never written.
 * The layout is described in docs/project-file.md.
 *
 * A project file is never modified in place. A writer builds a new version
 * under a temporary name, with the top-level groups it replaces written
 * afresh and every other group copied from the current version when it
 * commits, then renames it into place. Readers keep reading the version
 * they opened.
 *
 * The hid_t handles given out belong to the project or writer; every HDF5
 * call on them must hold _imp_h5_lock() (imp-recording-private.h). */

#define IMP_PROJECT_FORMAT_VERSION 1

#define IMP_PROJECT_ERROR (imp_project_error_quark ())

typedef enum
{
  IMP_PROJECT_ERROR_MISSING, /* no project file there */
  IMP_PROJECT_ERROR_DAMAGED, /* not a project file, or unreadable */
  IMP_PROJECT_ERROR_STALE,   /* made for another recording, or for this
                                one before it changed */
  IMP_PROJECT_ERROR_NEWER,   /* written by a newer Imprint */
} ImpProjectError;

typedef struct _ImpProject       ImpProject;
typedef struct _ImpProjectWriter ImpProjectWriter;

GQuark            imp_project_error_quark       (void);

char             *imp_project_path_for          (const char        *recording_path);

ImpProject       *imp_project_open              (const char        *path,
                                                 ImpRecording      *recording,
                                                 GError           **error);
void              imp_project_close             (ImpProject        *self);
const char       *imp_project_get_path          (ImpProject        *self);
hid_t             imp_project_get_file          (ImpProject        *self);
gboolean          imp_project_has_group         (ImpProject        *self,
                                                 const char        *name);

ImpProjectWriter *imp_project_writer_new        (const char        *path,
                                                 ImpRecording      *recording,
                                                 GError           **error);
hid_t             imp_project_writer_get_file   (ImpProjectWriter  *self);
const char       *imp_project_writer_get_path   (ImpProjectWriter  *self);
hid_t             imp_project_writer_add_group  (ImpProjectWriter  *self,
                                                 const char        *name,
                                                 GError           **error);
void              imp_project_writer_drop_group (ImpProjectWriter  *self,
                                                 const char        *name);
gboolean          imp_project_writer_flush      (ImpProjectWriter  *self,
                                                 GError           **error);
gboolean          imp_project_writer_commit     (ImpProjectWriter  *self,
                                                 ImpProject       **project,
                                                 GError           **error);
void              imp_project_writer_abandon    (ImpProjectWriter  *self);
void              imp_project_writer_free       (ImpProjectWriter  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImpProject, imp_project_close)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImpProjectWriter, imp_project_writer_free)

G_END_DECLS
