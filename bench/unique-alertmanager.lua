-- wrk script: posts one alert to Alertmanager's /api/v2/alerts with labels
-- unique to each request (so that each is a new alert, not a refresh of one
-- it holds), carrying the same failure text as bench/adf-alert.json.
local thread_id = 0
local counter = 0

function setup(thread)
  thread_id = thread_id + 1
  thread:set("id", thread_id)
end

local message = "ErrorCode=UserErrorSourceBlobNotExists,'Type=Microsoft.DataTransfer.Common.Shared.HybridDeliveryException," ..
  "Message=The required Blob is missing. ContainerName: https://salesdata.blob.core.windows.net/raw, ContainerExist: True, " ..
  "BlobPrefix: sales/2026/11/29.csv, BlobCount: 0.,Source=Microsoft.DataTransfer.ClientLibrary,'"

function request()
  counter = counter + 1
  local run_id = string.format("bench-%d-%d-%d", os.time(), id, counter)
  local body = string.format(
    '[{"labels":{"alertname":"ADF-Pipeline-Failed","severity":"Sev1","pipeline":"DataIngestionPipeline",' ..
    '"activity":"CopySalesFromBlob","run_id":"%s"},"annotations":{"error_code":"2200","error_message":"%s"},' ..
    '"generatorURL":"https://portal.azure.com/"}]', run_id, message)
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
end
