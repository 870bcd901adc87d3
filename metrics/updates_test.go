package metrics

import (
	"context"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
)

// The server's answers, as they reach a client interceptor: gRPC status errors.
var (
	inFlightLimit = &serviceerror.ResourceExhausted{
		Cause: enumspb.RESOURCE_EXHAUSTED_CAUSE_CONCURRENT_LIMIT, Scope: enumspb.RESOURCE_EXHAUSTED_SCOPE_NAMESPACE,
		Message: "limit on number of concurrent in-flight updates has been reached (10)",
	}
	// Update-with-start refused for the limit: the start is aborted because of the update.
	updateWithStartLimited = serviceerror.ToStatus(serviceerror.NewMultiOperationExecution("Update-with-Start could not be executed.",
		[]error{serviceerror.NewMultiOperationAborted("Operation was aborted."), inFlightLimit})).Err()
	updateAborted = serviceerror.ToStatus(serviceerror.NewUnavailable("workflow update was aborted")).Err()
	rateLimited   = serviceerror.ToStatus(&serviceerror.ResourceExhausted{
		Cause: enumspb.RESOURCE_EXHAUSTED_CAUSE_RPS_LIMIT, Message: "namespace rate limit exceeded",
	}).Err()
)

// recordUpdateRetries sends update calls through the interceptor: two refused for the
// in-flight limit and one aborted are counted; a rate limit, a success and a limit on another
// RPC are not.
func recordUpdateRetries(t *testing.T, r *Registry) {
	t.Helper()
	intercept := r.UpdateRetryInterceptor()
	for _, c := range []struct {
		method string
		err    error
	}{
		{workflowservice.WorkflowService_ExecuteMultiOperation_FullMethodName, updateWithStartLimited},
		{workflowservice.WorkflowService_UpdateWorkflowExecution_FullMethodName, serviceerror.ToStatus(inFlightLimit).Err()},
		{workflowservice.WorkflowService_PollWorkflowExecutionUpdate_FullMethodName, updateAborted},
		{workflowservice.WorkflowService_ExecuteMultiOperation_FullMethodName, rateLimited},
		{workflowservice.WorkflowService_ExecuteMultiOperation_FullMethodName, nil},
		{workflowservice.WorkflowService_SignalWorkflowExecution_FullMethodName, serviceerror.ToStatus(inFlightLimit).Err()},
	} {
		err := intercept(context.Background(), c.method, nil, nil, nil,
			func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return c.err })
		if err != c.err {
			t.Errorf("%s: the interceptor changed the error %v into %v", c.method, c.err, err)
		}
	}
}

func TestUpdateRetryReason(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{updateWithStartLimited, ReasonTooManyUpdates},
		{inFlightLimit, ReasonTooManyUpdates},
		{updateAborted, ReasonUpdateAborted},
		{serviceerror.NewNotFound("workflow update was aborted by closing workflow"), ReasonUpdateAborted},
		{rateLimited, ""},
		{context.DeadlineExceeded, ""},
	} {
		if got := UpdateRetryReason(c.err); got != c.want {
			t.Errorf("UpdateRetryReason(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}
