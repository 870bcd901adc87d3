package metrics

import (
	"context"
	"errors"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// The Temporal RPCs that carry an update (Resurge's arbitrations: update-with-start, and the
// polls the SDK makes for their outcome).
var updateMethods = []string{
	workflowservice.WorkflowService_ExecuteMultiOperation_FullMethodName,
	workflowservice.WorkflowService_UpdateWorkflowExecution_FullMethodName,
	workflowservice.WorkflowService_PollWorkflowExecutionUpdate_FullMethodName,
}

// UpdateRetryInterceptor counts ArbitrationRetriesTotal: give it to the worker's Temporal
// client (client.Options.ConnectionOptions.DialOptions, grpc.WithChainUnaryInterceptor). The
// SDK's own interceptors come first, so this one sees every attempt of its gRPC retries: the
// server's "limit on number of concurrent in-flight updates" (ResourceExhausted) is retried
// there until the call's deadline, invisibly to the activity, and would otherwise go
// uncounted. A nil registry counts nothing.
func (r *Registry) UpdateRetryInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if err != nil && r != nil && isUpdateMethod(method) {
			if reason := UpdateRetryReason(err); reason != "" {
				r.updateRetries.WithLabelValues(reason).Inc()
			}
		}
		return err
	}
}

func isUpdateMethod(m string) bool {
	for _, u := range updateMethods {
		if m == u {
			return true
		}
	}
	return false
}

// UpdateRetryReason classifies an update call's error: ReasonTooManyUpdates for the server's
// limit of updates in flight, ReasonUpdateAborted for an aborted update, "" for anything else.
// It looks inside update-with-start's per-operation errors.
func UpdateRetryReason(err error) string {
	errs := []error{err}
	if st, ok := status.FromError(err); ok {
		converted := serviceerror.FromStatus(st)
		errs = append(errs, converted)
		var multi *serviceerror.MultiOperationExecution
		if errors.As(converted, &multi) {
			errs = append(errs, multi.OperationErrors()...)
		}
	}
	for _, e := range errs {
		if e == nil {
			continue
		}
		var exhausted *serviceerror.ResourceExhausted
		if errors.As(e, &exhausted) && exhausted.Cause == enumspb.RESOURCE_EXHAUSTED_CAUSE_CONCURRENT_LIMIT {
			return ReasonTooManyUpdates
		}
		if strings.Contains(e.Error(), "update was aborted") {
			return ReasonUpdateAborted
		}
	}
	return ""
}
