/* imp-texture-pool.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

#include "imp-raster.h"

G_BEGIN_DECLS

/* Pixel buffers to draw into and hand to GTK as textures, reused: a
 * buffer comes back to the pool when the last texture made from it is
 * freed, so that a view redrawn every frame does not allocate (and fault
 * in) a new one each time. */

typedef struct _ImpTexturePool ImpTexturePool;

ImpTexturePool *imp_texture_pool_new          (void);
void            imp_texture_pool_free         (ImpTexturePool *self);
/* A transparent @width × @height image to draw into, until _finish(). */
void            imp_texture_pool_begin        (ImpTexturePool *self,
                                               int             width,
                                               int             height,
                                               ImpRasterImage *image);
/* The image drawn since _begin(), as a texture that owns its buffer. */
GdkTexture     *imp_texture_pool_finish       (ImpTexturePool *self,
                                               ImpRasterImage *image);
/* How many buffers were ever allocated. */
guint           imp_texture_pool_get_n_allocated (ImpTexturePool *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImpTexturePool, imp_texture_pool_free)

G_END_DECLS
