/* dir_rpc: the RPCs of proto/directory.proto. The oneof in DirRequest decides the operation;
   the Meta rpc name is only logged when it disagrees. */
#ifndef DIR_RPC_H
#define DIR_RPC_H
#include "dir_service.h"

/* Handles one DirRequest frame; returns the packed DirReply frame (never NULL unless out of
   memory). */
zframe_t *dir_rpc_handle(dir_t *dir, const char *rpc, zframe_t *payload);

void dir_rpc_test(bool verbose);
#endif
