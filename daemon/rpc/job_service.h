// ds.v1.JobService: starts jobs, streams their events, cancels and lists
// them. The jobs themselves (jobs.h) and the migrate kind (tasks/
// migrate_task.h) know nothing of gRPC; this file converts and streams.
#ifndef DS_DAEMON_RPC_JOB_SERVICE_H_
#define DS_DAEMON_RPC_JOB_SERVICE_H_

#include "daemon/jobs/jobs.h"
#include "daemon/pg/pg_pool.h"
#include "daemon/providers/provider.h"
#include "daemon/sys/work_pool.h"
#include "daemon/tasks/copy_org_task.h"
#include "daemon/tasks/external_steps.h"
#include "daemon/tasks/audit_task.h"
#include "daemon/tasks/migrate_task.h"
#include "daemon/tasks/refresh_staging_task.h"
#include "daemon/tasks/reset_task.h"
#include "daemon/workspace/workspace.h"
#include "ds/v1/jobs.grpc.pb.h"

namespace ds::daemon {

class JobServiceImpl final : public v1::JobService::CallbackService {
 public:
  // `external` holds the steps a reset runs between its SQL steps.
  JobServiceImpl(JobManager* jobs, WorkspaceResolver* resolver, ProviderRegistry* providers,
                 PgConnectionPool* pool, const ExternalStepRegistry* external);

  grpc::ServerWriteReactor<v1::JobEvent>* Migrate(grpc::CallbackServerContext* ctx,
                                                  const v1::MigrateRequest* req) override;
  grpc::ServerUnaryReactor* MigrationStatus(grpc::CallbackServerContext* ctx,
                                            const v1::MigrateRequest* req,
                                            v1::MigrationStatusResponse* resp) override;
  grpc::ServerWriteReactor<v1::JobEvent>* Watch(grpc::CallbackServerContext* ctx,
                                                const v1::WatchJobRequest* req) override;
  grpc::ServerUnaryReactor* Cancel(grpc::CallbackServerContext* ctx,
                                   const v1::CancelJobRequest* req,
                                   v1::CancelJobResponse* resp) override;
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* ctx, const v1::ListJobsRequest* req,
                                 v1::ListJobsResponse* resp) override;
  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* ctx, const v1::GetJobRequest* req,
                                v1::Job* resp) override;
  grpc::ServerWriteReactor<v1::JobEvent>* Reset(grpc::CallbackServerContext* ctx,
                                                const v1::ResetRequest* req) override;
  grpc::ServerUnaryReactor* PlanReset(grpc::CallbackServerContext* ctx, const v1::ResetRequest* req,
                                      v1::ResetPlan* resp) override;
  grpc::ServerWriteReactor<v1::JobEvent>* CopyOrg(grpc::CallbackServerContext* ctx,
                                                  const v1::CopyOrgRequest* req) override;
  grpc::ServerUnaryReactor* PlanCopyOrg(grpc::CallbackServerContext* ctx,
                                        const v1::CopyOrgRequest* req,
                                        v1::ResetPlan* resp) override;
  grpc::ServerWriteReactor<v1::JobEvent>* RefreshStaging(
      grpc::CallbackServerContext* ctx, const v1::RefreshStagingRequest* req) override;
  grpc::ServerWriteReactor<v1::JobEvent>* Prune(grpc::CallbackServerContext* ctx,
                                                const v1::PruneRequest* req) override;

 private:
  JobManager* jobs_;
  WorkspaceResolver* resolver_;
  ProviderRegistry* providers_;
  PgConnectionPool* pool_;  // idle job connections, reused by the next job
  const ExternalStepRegistry* external_;
  // After the pointers they take.
  MigrateTask migrate_{jobs_, resolver_, providers_, pool_};
  ResetTask reset_{jobs_, resolver_, providers_, external_};
  CopyOrgTask copy_org_{jobs_, resolver_, providers_};
  RefreshStagingTask refresh_staging_{jobs_, resolver_, providers_};
  AuditTask audit_{resolver_, providers_};
  WorkPool work_{2};
};

}  // namespace ds::daemon

#endif  // DS_DAEMON_RPC_JOB_SERVICE_H_
